//! Shamir secret sharing over GF(2^8) (AES polynomial), as sops (forked from
//! Vault) uses for several key groups. A share is the y bytes followed by
//! the x coordinate; sops uses x = group index + 1.

use crate::sensitive::SecretBytes;
use rand::RngCore;

fn mul(mut a: u8, mut b: u8) -> u8 {
    let mut p = 0u8;
    for _ in 0..8 {
        if b & 1 != 0 {
            p ^= a;
        }
        let carry = a & 0x80;
        a <<= 1;
        if carry != 0 {
            a ^= 0x1b;
        }
        b >>= 1;
    }
    p
}

fn inv(a: u8) -> u8 {
    // a^254 = a^-1 in GF(2^8)
    let mut result = 1u8;
    let mut base = a;
    let mut e = 254u8;
    while e > 0 {
        if e & 1 != 0 {
            result = mul(result, base);
        }
        base = mul(base, base);
        e >>= 1;
    }
    result
}

/// Split `secret` into `parts` shares, any `threshold` of which recover it.
pub fn split(
    secret: &SecretBytes,
    parts: usize,
    threshold: usize,
) -> Result<Vec<SecretBytes>, String> {
    if threshold < 1 || threshold > parts || parts > 255 {
        return Err(format!("invalid Shamir parameters: {threshold} of {parts}"));
    }
    let mut shares: Vec<Vec<u8>> = (0..parts)
        .map(|_| Vec::with_capacity(secret.len() + 1))
        .collect();
    let mut coeffs = vec![0u8; threshold.saturating_sub(1)];
    for &byte in secret.expose() {
        rand::rngs::OsRng.fill_bytes(&mut coeffs);
        for (i, share) in shares.iter_mut().enumerate() {
            let x = (i + 1) as u8;
            // Horner: ((c_{t-1} x + …) x + c_1) x + secret
            let mut y = 0u8;
            for &c in coeffs.iter().rev() {
                y = mul(y, x) ^ c;
            }
            y = mul(y, x) ^ byte;
            share.push(y);
        }
    }
    coeffs.iter_mut().for_each(|c| *c = 0);
    for (i, share) in shares.iter_mut().enumerate() {
        share.push((i + 1) as u8);
    }
    Ok(shares.into_iter().map(SecretBytes::new).collect())
}

/// Recover the secret from shares (Lagrange interpolation at 0).
pub fn combine(shares: &[SecretBytes]) -> Result<SecretBytes, String> {
    let len = shares
        .first()
        .map(SecretBytes::len)
        .ok_or("no Shamir shares")?;
    if len < 2 || shares.iter().any(|s| s.len() != len) {
        return Err("Shamir shares have different or too short lengths".into());
    }
    let xs: Vec<u8> = shares.iter().map(|s| s.expose()[len - 1]).collect();
    for (i, x) in xs.iter().enumerate() {
        if xs[..i].contains(x) {
            return Err("duplicate Shamir share".into());
        }
    }
    let mut out = vec![0u8; len - 1];
    for (i, share) in shares.iter().enumerate() {
        let mut basis = 1u8;
        for (j, &xj) in xs.iter().enumerate() {
            if i != j {
                basis = mul(basis, mul(xj, inv(xs[i] ^ xj)));
            }
        }
        for (k, o) in out.iter_mut().enumerate() {
            *o ^= mul(share.expose()[k], basis);
        }
    }
    Ok(SecretBytes::new(out))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn split_and_combine() {
        let secret = SecretBytes::new((0..32).collect());
        let shares = split(&secret, 3, 2).unwrap();
        assert_eq!(combine(&shares[..2]).unwrap(), secret);
        assert_eq!(combine(&shares[1..]).unwrap(), secret);
        assert_ne!(combine(&shares[..1]).unwrap(), secret);
        for a in 1..=255u8 {
            assert_eq!(mul(a, inv(a)), 1);
        }
    }
}
