//! Sealing keys and certificates: parsing the controller's certificate and
//! key Secrets, and generating keys the controller accepts (RSA-4096,
//! self-signed, empty subject, KeyUsage=EncipherOnly critical, CA:TRUE,
//! 10 years), stored as `kubernetes.io/tls` Secrets labelled active.

use super::SealedSecretError;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rsa::pkcs1::{DecodeRsaPrivateKey, EncodeRsaPrivateKey};
use rsa::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePublicKey, LineEnding};
use rsa::{RsaPrivateKey, RsaPublicKey};
use serde_json::{Value, json};
use x509_cert::Certificate;
use x509_cert::der::{DecodePem, Encode, EncodePem};

pub const KEY_LABEL: &str = "sealedsecrets.bitnami.com/sealed-secrets-key";
pub const KEY_PREFIX: &str = "sealed-secrets-key";

/// A controller certificate: the public half used for sealing.
#[derive(Clone, Debug)]
pub struct SealingCert {
    public: RsaPublicKey,
    /// Seconds since the Unix epoch.
    pub not_before: u64,
    pub not_after: u64,
    pub pem: String,
}

impl SealingCert {
    /// Parse the first PEM certificate (as kubeseal's `ParseKey`).
    pub fn from_pem(pem: &str) -> Result<SealingCert, SealedSecretError> {
        let start = pem
            .find("-----BEGIN CERTIFICATE-----")
            .ok_or_else(|| SealedSecretError::Cert("no PEM CERTIFICATE block found".into()))?;
        let end_marker = "-----END CERTIFICATE-----";
        let end = pem[start..]
            .find(end_marker)
            .map(|e| start + e + end_marker.len())
            .ok_or_else(|| SealedSecretError::Cert("unterminated PEM CERTIFICATE block".into()))?;
        let block = &pem[start..end];
        let cert = Certificate::from_pem(block)
            .map_err(|e| SealedSecretError::Cert(format!("cannot parse: {e}")))?;
        let spki = cert
            .tbs_certificate
            .subject_public_key_info
            .to_der()
            .map_err(|e| SealedSecretError::Cert(e.to_string()))?;
        let public = RsaPublicKey::from_public_key_der(&spki).map_err(|_| {
            SealedSecretError::Cert("the certificate's key is not an RSA key".into())
        })?;
        let validity = &cert.tbs_certificate.validity;
        Ok(SealingCert {
            public,
            not_before: validity.not_before.to_unix_duration().as_secs(),
            not_after: validity.not_after.to_unix_duration().as_secs(),
            pem: format!("{block}\n"),
        })
    }

    pub fn public(&self) -> &RsaPublicKey {
        &self.public
    }

    /// kubeseal refuses expired certificates.
    pub fn check_not_expired(&self) -> Result<(), SealedSecretError> {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs())
            .unwrap_or(0);
        if now > self.not_after {
            return Err(SealedSecretError::Cert(
                "failed to encrypt using an expired certificate".into(),
            ));
        }
        Ok(())
    }

    /// The controller's key id: `SHA256:` + unpadded base64 of SHA-256 over
    /// the ssh-rsa wire encoding of the public key.
    pub fn fingerprint(&self) -> String {
        fingerprint(&self.public)
    }
}

pub fn fingerprint(public: &RsaPublicKey) -> String {
    use rsa::traits::PublicKeyParts;
    use sha2::Digest;
    fn mpint(b: &[u8], out: &mut Vec<u8>) {
        let b = {
            let mut i = 0;
            while i < b.len() && b[i] == 0 {
                i += 1;
            }
            &b[i..]
        };
        let pad = b.first().is_some_and(|x| x & 0x80 != 0);
        let len = b.len() + usize::from(pad);
        out.extend_from_slice(&(len as u32).to_be_bytes());
        if pad {
            out.push(0);
        }
        out.extend_from_slice(b);
    }
    let mut wire = Vec::new();
    wire.extend_from_slice(&7u32.to_be_bytes());
    wire.extend_from_slice(b"ssh-rsa");
    mpint(&public.e().to_bytes_be(), &mut wire);
    mpint(&public.n().to_bytes_be(), &mut wire);
    let digest = sha2::Sha256::digest(&wire);
    format!(
        "SHA256:{}",
        base64::engine::general_purpose::STANDARD_NO_PAD.encode(digest)
    )
}

/// A private sealing key with its certificate. The RSA key zeroises on drop.
#[derive(Clone)]
pub struct SealingKey {
    private: RsaPrivateKey,
    pub cert: SealingCert,
    /// The Secret's name, when read from a cluster or manifest.
    pub secret_name: Option<String>,
    /// The Secret's creationTimestamp, when known.
    pub created: Option<String>,
}

impl std::fmt::Debug for SealingKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "SealingKey({}, {:?}, <private key redacted>)",
            self.cert.fingerprint(),
            self.secret_name
        )
    }
}

impl SealingKey {
    pub fn private(&self) -> &RsaPrivateKey {
        &self.private
    }

    /// From PEM private key (PKCS#1 or PKCS#8) and PEM certificate.
    pub fn from_pem(key_pem: &str, cert_pem: &str) -> Result<SealingKey, SealedSecretError> {
        let private = RsaPrivateKey::from_pkcs1_pem(key_pem)
            .or_else(|_| RsaPrivateKey::from_pkcs8_pem(key_pem))
            .map_err(|_| SealedSecretError::Cert("tls.key is not a PEM RSA private key".into()))?;
        let cert = SealingCert::from_pem(cert_pem)?;
        if private.to_public_key() != cert.public {
            return Err(SealedSecretError::Cert(
                "tls.key does not match tls.crt".into(),
            ));
        }
        Ok(SealingKey {
            private,
            cert,
            secret_name: None,
            created: None,
        })
    }

    /// Parse a controller key Secret (`data.tls.key`, `data.tls.crt`).
    pub fn from_secret(secret: &Value) -> Result<SealingKey, SealedSecretError> {
        let name = secret
            .pointer("/metadata/name")
            .and_then(Value::as_str)
            .unwrap_or("<unnamed>")
            .to_string();
        let field = |k: &str| -> Result<String, SealedSecretError> {
            let b64 = secret
                .get("data")
                .and_then(|d| d.get(k))
                .and_then(Value::as_str)
                .ok_or_else(|| {
                    SealedSecretError::Cert(format!("key Secret {name} has no data.{k}"))
                })?;
            let bytes = B64.decode(b64).map_err(|_| {
                SealedSecretError::Cert(format!("key Secret {name}: data.{k} is not base64"))
            })?;
            String::from_utf8(bytes).map_err(|_| {
                SealedSecretError::Cert(format!("key Secret {name}: data.{k} is not PEM"))
            })
        };
        let key_pem = zeroize::Zeroizing::new(field("tls.key")?);
        let mut key = SealingKey::from_pem(&key_pem, &field("tls.crt")?)
            .map_err(|e| SealedSecretError::Cert(format!("key Secret {name}: {e}")))?;
        key.secret_name = Some(name);
        key.created = secret
            .pointer("/metadata/creationTimestamp")
            .and_then(Value::as_str)
            .map(str::to_string);
        Ok(key)
    }

    /// Keys from manifests: Secrets, a `v1.List` of them, or a bare PEM key.
    pub fn from_documents(docs: &[Value]) -> Result<Vec<SealingKey>, SealedSecretError> {
        let mut out = Vec::new();
        for d in docs {
            match d.get("kind").and_then(Value::as_str) {
                Some("Secret") => out.push(SealingKey::from_secret(d)?),
                Some(k) if k.ends_with("List") => {
                    if let Some(Value::Array(items)) = d.get("items") {
                        out.extend(SealingKey::from_documents(items)?);
                    }
                }
                _ => {}
            }
        }
        Ok(out)
    }

    /// Generate a key pair the way the controller does.
    pub fn generate(
        bits: usize,
        common_name: &str,
        validity_days: u32,
    ) -> Result<SealingKey, SealedSecretError> {
        let mut rng = rand::rngs::OsRng;
        let private = RsaPrivateKey::new(&mut rng, bits)
            .map_err(|e| SealedSecretError::Cert(format!("RSA key generation failed: {e}")))?;
        let cert_pem = self_signed_cert(&private, common_name, validity_days)?;
        SealingKey::from_pem(
            &private
                .to_pkcs1_pem(LineEnding::LF)
                .map_err(|e| SealedSecretError::Cert(e.to_string()))?,
            &cert_pem,
        )
    }

    /// The key as the controller stores it: a `kubernetes.io/tls` Secret
    /// with `generateName` and the `active` label (or `name` if known).
    pub fn to_secret(&self, namespace: &str) -> Result<Value, SealedSecretError> {
        let key_pem = self
            .private
            .to_pkcs1_pem(LineEnding::LF)
            .map_err(|e| SealedSecretError::Cert(e.to_string()))?;
        let mut metadata = json!({
            "namespace": namespace,
            "labels": { KEY_LABEL: "active" },
        });
        match &self.secret_name {
            Some(n) => metadata["name"] = json!(n),
            None => metadata["generateName"] = json!(KEY_PREFIX),
        }
        Ok(json!({
            "apiVersion": "v1",
            "kind": "Secret",
            "metadata": metadata,
            "type": "kubernetes.io/tls",
            "data": {
                "tls.crt": B64.encode(self.cert.pem.as_bytes()),
                "tls.key": B64.encode(key_pem.as_bytes()),
            }
        }))
    }
}

fn self_signed_cert(
    private: &RsaPrivateKey,
    common_name: &str,
    validity_days: u32,
) -> Result<String, SealedSecretError> {
    use rand::RngCore;
    use std::str::FromStr;
    use x509_cert::builder::{Builder, CertificateBuilder, Profile};
    use x509_cert::ext::pkix::{BasicConstraints, KeyUsage, KeyUsages};
    use x509_cert::name::Name;
    use x509_cert::serial_number::SerialNumber;
    use x509_cert::spki::SubjectPublicKeyInfoOwned;
    use x509_cert::time::Validity;

    let err = |e: &dyn std::fmt::Display| {
        SealedSecretError::Cert(format!("building the certificate: {e}"))
    };
    let signer = rsa::pkcs1v15::SigningKey::<sha2::Sha256>::new(private.clone());
    let spki_der = private
        .to_public_key()
        .to_public_key_der()
        .map_err(|e| err(&e))?;
    let spki = SubjectPublicKeyInfoOwned::try_from(spki_der.as_bytes()).map_err(|e| err(&e))?;
    let mut serial = [0u8; 16];
    rand::rngs::OsRng.fill_bytes(&mut serial);
    serial[0] &= 0x7f; // positive
    let serial = SerialNumber::new(&serial).map_err(|e| err(&e))?;
    let validity = Validity::from_now(std::time::Duration::from_secs(
        u64::from(validity_days) * 86_400,
    ))
    .map_err(|e| err(&e))?;
    let subject = if common_name.is_empty() {
        Name::default()
    } else {
        Name::from_str(&format!("CN={common_name}")).map_err(|e| err(&e))?
    };
    let mut builder = CertificateBuilder::new(
        Profile::Manual { issuer: None },
        serial,
        validity,
        subject,
        spki,
        &signer,
    )
    .map_err(|e| err(&e))?;
    builder
        .add_extension(&BasicConstraints {
            ca: true,
            path_len_constraint: None,
        })
        .map_err(|e| err(&e))?;
    builder
        .add_extension(&KeyUsage(KeyUsages::EncipherOnly.into()))
        .map_err(|e| err(&e))?;
    let cert = builder
        .build::<rsa::pkcs1v15::Signature>()
        .map_err(|e| err(&e))?;
    cert.to_pem(LineEnding::LF).map_err(|e| err(&e))
}
