//! SOPS value encryption: `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` with
//! AES-256-GCM over a 32-byte IV, AAD = the key path (or `lastmodified` for
//! the MAC). Decrypted values remember their IV (by digest, never by
//! plaintext) so an unchanged value re-encrypts to the same bytes and git
//! diffs stay minimal, as `sops edit` does.

use crate::sensitive::SecretBytes;
use crate::tree::Scalar;
use aes_gcm::aead::generic_array::GenericArray;
use aes_gcm::aead::generic_array::typenum::U32;
use aes_gcm::aead::{Aead, KeyInit, Payload};
use aes_gcm::{AesGcm, aes::Aes256};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rand::RngCore;
use sha2::{Digest, Sha256};
use std::collections::HashMap;

type SopsGcm = AesGcm<Aes256, U32>;

#[derive(Debug, thiserror::Error)]
pub enum CipherError {
    #[error("value is not in sops' ENC[AES256_GCM,...] format")]
    Format,
    #[error(
        "value could not be decrypted (wrong data key, or the value or its key path was tampered with)"
    )]
    Authentication,
    #[error("unknown value type '{0}' in ENC[...]")]
    UnknownType(String),
    #[error("decrypted value does not parse as its declared type '{0}'")]
    BadTyped(String),
}

/// A decrypted `ENC[...]` value.
pub enum Plain {
    Value(Scalar),
    Comment(String),
}

/// The data-key cipher, with the IV memory described in the module docs.
pub struct ValueCipher {
    key: SecretBytes,
    ivs: HashMap<[u8; 32], Vec<u8>>,
}

fn memo_key(plaintext: &[u8], aad: &str, typ: &str) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update((plaintext.len() as u64).to_be_bytes());
    h.update(plaintext);
    h.update((aad.len() as u64).to_be_bytes());
    h.update(aad.as_bytes());
    h.update(typ.as_bytes());
    h.finalize().into()
}

impl ValueCipher {
    pub fn new(key: SecretBytes) -> Self {
        ValueCipher {
            key,
            ivs: HashMap::new(),
        }
    }

    pub fn key(&self) -> &SecretBytes {
        &self.key
    }

    /// Forget remembered IVs (after the data key changed, reuse would be wrong).
    pub fn forget_ivs(&mut self) {
        self.ivs.clear();
    }

    fn aead(&self) -> Result<SopsGcm, CipherError> {
        SopsGcm::new_from_slice(self.key.expose()).map_err(|_| CipherError::Authentication)
    }

    /// Decrypt one `ENC[...]` string.
    pub fn decrypt(&mut self, value: &str, aad: &str) -> Result<Plain, CipherError> {
        let (data, iv, tag, typ) = parse_enc(value).ok_or(CipherError::Format)?;
        let data = B64.decode(data).map_err(|_| CipherError::Format)?;
        let iv = B64.decode(iv).map_err(|_| CipherError::Format)?;
        let tag = B64.decode(tag).map_err(|_| CipherError::Format)?;
        if iv.is_empty() || tag.len() != 16 {
            return Err(CipherError::Format);
        }
        let mut ct = data;
        ct.extend_from_slice(&tag);
        let plain = if iv.len() == 32 {
            self.aead()?
                .decrypt(
                    GenericArray::from_slice(&iv),
                    Payload {
                        msg: &ct,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| CipherError::Authentication)?
        } else if iv.len() == 12 {
            aes_gcm::Aes256Gcm::new_from_slice(self.key.expose())
                .map_err(|_| CipherError::Authentication)?
                .decrypt(
                    GenericArray::from_slice(&iv),
                    Payload {
                        msg: &ct,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| CipherError::Authentication)?
        } else {
            return Err(CipherError::Format);
        };
        let plain = SecretBytes::new(plain);
        self.ivs.insert(memo_key(plain.expose(), aad, typ), iv);
        let text = || {
            String::from_utf8(plain.expose().to_vec())
                .map_err(|_| CipherError::BadTyped(typ.into()))
        };
        Ok(match typ {
            "str" => Plain::Value(Scalar::Str(text()?)),
            "int" => Plain::Value(Scalar::Int(
                text()?
                    .parse()
                    .map_err(|_| CipherError::BadTyped(typ.into()))?,
            )),
            "float" => Plain::Value(Scalar::Float(
                text()?
                    .parse()
                    .map_err(|_| CipherError::BadTyped(typ.into()))?,
            )),
            "bool" => Plain::Value(Scalar::Bool(match text()?.as_str() {
                "1" | "t" | "T" | "TRUE" | "true" | "True" => true,
                "0" | "f" | "F" | "FALSE" | "false" | "False" => false,
                _ => return Err(CipherError::BadTyped(typ.into())),
            })),
            "time" => Plain::Value(Scalar::Time(text()?)),
            "bytes" => Plain::Value(Scalar::Str(text()?)),
            "comment" => Plain::Comment(text()?),
            other => return Err(CipherError::UnknownType(other.into())),
        })
    }

    /// Encrypt bytes with the given `type:` tag; empty plaintext stays empty.
    pub fn encrypt_bytes(&mut self, plain: &[u8], aad: &str, typ: &str) -> String {
        if plain.is_empty() {
            return String::new();
        }
        let memo = memo_key(plain, aad, typ);
        let iv = match self.ivs.get(&memo) {
            Some(iv) => iv.clone(),
            None => {
                let mut iv = vec![0u8; 32];
                rand::rngs::OsRng.fill_bytes(&mut iv);
                iv
            }
        };
        let sealed = if iv.len() == 12 {
            aes_gcm::Aes256Gcm::new_from_slice(self.key.expose()).and_then(|c| {
                c.encrypt(
                    GenericArray::from_slice(&iv),
                    Payload {
                        msg: plain,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| aes_gcm::aes::cipher::InvalidLength)
            })
        } else {
            SopsGcm::new_from_slice(self.key.expose()).and_then(|c| {
                c.encrypt(
                    GenericArray::from_slice(&iv),
                    Payload {
                        msg: plain,
                        aad: aad.as_bytes(),
                    },
                )
                .map_err(|_| aes_gcm::aes::cipher::InvalidLength)
            })
        };
        // The key is always 32 bytes (checked when the data key is obtained),
        // so encryption cannot fail; an empty result would be caught by the MAC.
        let sealed = sealed.unwrap_or_default();
        let (data, tag) = sealed.split_at(sealed.len().saturating_sub(16));
        format!(
            "ENC[AES256_GCM,data:{},iv:{},tag:{},type:{}]",
            B64.encode(data),
            B64.encode(&iv),
            B64.encode(tag),
            typ
        )
    }

    pub fn encrypt_scalar(&mut self, value: &Scalar, aad: &str) -> String {
        let bytes = SecretBytes::new(value.to_sops_bytes());
        self.encrypt_bytes(bytes.expose(), aad, value.sops_type())
    }
}

/// Split `ENC[AES256_GCM,data:…,iv:…,tag:…,type:…]` into its parts.
pub fn parse_enc(value: &str) -> Option<(&str, &str, &str, &str)> {
    let inner = value.strip_prefix("ENC[AES256_GCM,data:")?;
    let inner = inner.strip_suffix(']')?;
    let (data, rest) = inner.split_once(",iv:")?;
    let (iv, rest) = rest.split_once(",tag:")?;
    let (tag, typ) = rest.split_once(",type:")?;
    Some((data, iv, tag, typ))
}

pub fn is_enc(value: &str) -> bool {
    value.starts_with("ENC[AES256_GCM,")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_types_and_iv_reuse() {
        let key = SecretBytes::new(vec![7u8; 32]);
        let mut c = ValueCipher::new(key);
        for v in [
            Scalar::Str("hello".into()),
            Scalar::Int(-42),
            Scalar::Float(1234.5),
            Scalar::Bool(true),
            Scalar::Time("2024-01-01T00:00:00Z".into()),
        ] {
            let enc = c.encrypt_scalar(&v, "a:b:");
            let Plain::Value(back) = c.decrypt(&enc, "a:b:").unwrap() else {
                panic!("not a value")
            };
            assert_eq!(back, v);
            // decrypt remembered the IV: same bytes again
            assert_eq!(c.encrypt_scalar(&v, "a:b:"), enc);
            // wrong AAD fails
            assert!(matches!(
                c.decrypt(&enc, "a:c:"),
                Err(CipherError::Authentication)
            ));
        }
        assert_eq!(c.encrypt_bytes(b"", "x:", "str"), "");
    }

    #[test]
    fn tampered_value_fails() {
        let mut c = ValueCipher::new(SecretBytes::new(vec![1u8; 32]));
        let enc = c.encrypt_scalar(&Scalar::Str("secret".into()), "k:");
        let (data, iv, tag, _) = parse_enc(&enc).unwrap();
        let mut d = B64.decode(data).unwrap();
        d[0] ^= 1;
        let bad = format!(
            "ENC[AES256_GCM,data:{},iv:{iv},tag:{tag},type:str]",
            B64.encode(d)
        );
        let err = c.decrypt(&bad, "k:").err().unwrap();
        assert!(matches!(err, CipherError::Authentication));
        assert!(!err.to_string().contains("secret"));
    }
}
