//! The per-run certificate authority, per-rank certificates and run token.
//!
//! The coordinator makes a fresh CA for every run and signs one certificate per rank
//! (`rank-<r>.collbench.invalid`) and one for itself. A node gets its own certificate and key,
//! the CA certificate and the token; nothing is written to disk for local runs. Both planes use
//! mutual TLS against that CA, and peers pin each other's exact certificate, so a process
//! without these cannot join a run or send into it.

use base64::Engine;
use rcgen::{BasicConstraints, CertificateParams, DnType, IsCa, KeyPair, KeyUsagePurpose};

use crate::TransportError;

pub const COORDINATOR_NAME: &str = "coordinator.collbench.invalid";

pub fn rank_name(rank: usize) -> String {
    format!("rank-{rank}.collbench.invalid")
}

/// A certificate with its private key, both DER.
#[derive(Clone)]
pub struct Identity {
    pub cert_der: Vec<u8>,
    pub key_der: Vec<u8>,
}

/// What one node needs to take part in a run.
#[derive(Clone)]
pub struct NodeCredentials {
    pub ca_der: Vec<u8>,
    pub identity: Identity,
    pub token: String,
}

/// Everything the coordinator holds for a run.
pub struct RunCredentials {
    pub ca_der: Vec<u8>,
    pub coordinator: Identity,
    pub ranks: Vec<Identity>,
    pub token: String,
}

fn tls_err(e: impl std::fmt::Display) -> TransportError {
    TransportError::Tls(e.to_string())
}

fn leaf(
    name: String,
    ca: &rcgen::Certificate,
    ca_key: &KeyPair,
) -> Result<Identity, TransportError> {
    let key = KeyPair::generate().map_err(tls_err)?;
    let mut params = CertificateParams::new(vec![name.clone()]).map_err(tls_err)?;
    params.distinguished_name.push(DnType::CommonName, name);
    let cert = params.signed_by(&key, ca, ca_key).map_err(tls_err)?;
    Ok(Identity {
        cert_der: cert.der().to_vec(),
        key_der: key.serialize_der(),
    })
}

/// A random token of 32 bytes, hex.
pub fn random_token() -> Result<String, TransportError> {
    let mut bytes = [0u8; 32];
    getrandom::getrandom(&mut bytes)
        .map_err(|e| TransportError::Tls(format!("no randomness: {e}")))?;
    Ok(bytes.iter().map(|b| format!("{b:02x}")).collect())
}

impl RunCredentials {
    pub fn generate(run_id: &str, nranks: usize) -> Result<Self, TransportError> {
        let ca_key = KeyPair::generate().map_err(tls_err)?;
        let mut params = CertificateParams::new(Vec::<String>::new()).map_err(tls_err)?;
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        params
            .distinguished_name
            .push(DnType::CommonName, format!("collbench run {run_id} CA"));
        let ca = params.self_signed(&ca_key).map_err(tls_err)?;
        let coordinator = leaf(COORDINATOR_NAME.to_string(), &ca, &ca_key)?;
        let ranks = (0..nranks)
            .map(|r| leaf(rank_name(r), &ca, &ca_key))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(RunCredentials {
            ca_der: ca.der().to_vec(),
            coordinator,
            ranks,
            token: random_token()?,
        })
    }

    pub fn for_rank(&self, rank: usize) -> NodeCredentials {
        NodeCredentials {
            ca_der: self.ca_der.clone(),
            identity: self.ranks[rank].clone(),
            token: self.token.clone(),
        }
    }

    pub fn coordinator_credentials(&self) -> NodeCredentials {
        NodeCredentials {
            ca_der: self.ca_der.clone(),
            identity: self.coordinator.clone(),
            token: self.token.clone(),
        }
    }
}

/// Environment variables that carry a node's credentials from a local launcher.
pub const ENV_TOKEN: &str = "COLLBENCH_TOKEN";
pub const ENV_CA: &str = "COLLBENCH_CA_CERT";
pub const ENV_CERT: &str = "COLLBENCH_NODE_CERT";
pub const ENV_KEY: &str = "COLLBENCH_NODE_KEY";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

impl NodeCredentials {
    /// The credentials as environment variables (base64 DER).
    pub fn to_env(&self) -> Vec<(&'static str, String)> {
        vec![
            (ENV_TOKEN, self.token.clone()),
            (ENV_CA, b64(&self.ca_der)),
            (ENV_CERT, b64(&self.identity.cert_der)),
            (ENV_KEY, b64(&self.identity.key_der)),
        ]
    }

    /// Reads credentials from the environment; names the variable that is missing or invalid.
    pub fn from_env() -> Result<Self, TransportError> {
        let var = |name: &'static str| {
            std::env::var(name)
                .map_err(|_| TransportError::Credentials(format!("{name} is not set")))
        };
        let der = |name: &'static str| -> Result<Vec<u8>, TransportError> {
            base64::engine::general_purpose::STANDARD
                .decode(var(name)?.trim())
                .map_err(|e| TransportError::Credentials(format!("{name} is not base64: {e}")))
        };
        Ok(NodeCredentials {
            token: var(ENV_TOKEN)?,
            ca_der: der(ENV_CA)?,
            identity: Identity {
                cert_der: der(ENV_CERT)?,
                key_der: der(ENV_KEY)?,
            },
        })
    }
}

/// Compares two secrets in time independent of where they differ.
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}
