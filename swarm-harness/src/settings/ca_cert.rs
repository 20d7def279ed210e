//! `PT_CA_CERT`'s value: the CA certificates of a PEM file, read with a bound (a path to
//! `/dev/zero` or a huge file is refused, not read until memory runs out). In a build without
//! TLS no certificate can exist: the setting is refused before its file is read.

/// The most of a PEM file read: far above any CA bundle (Mozilla's whole bundle is about
/// 220 KB), far below what could hurt.
const MAX_PEM_BYTES: u64 = 16 << 20;

/// A CA certificate of `PT_CA_CERT`.
#[cfg(feature = "tls")]
pub type CaCert = rustls::pki_types::CertificateDer<'static>;

/// A CA certificate of `PT_CA_CERT`: none can exist in this build, which refuses the setting
/// before reading its file, so the type has no value (and no rustls-pki-types is compiled).
#[cfg(not(feature = "tls"))]
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CaCert {}

/// The certificates of the PEM file at `path`: `None` when it cannot be read, is larger than
/// [`MAX_PEM_BYTES`], or holds no certificate.
pub(crate) fn read_certificates(path: &str) -> Option<Vec<CaCert>> {
    use std::io::Read;
    let mut pem = Vec::new();
    std::fs::File::open(path)
        .ok()?
        .take(MAX_PEM_BYTES + 1)
        .read_to_end(&mut pem)
        .ok()?;
    if pem.len() as u64 > MAX_PEM_BYTES {
        return None;
    }
    let certificates = parse_pem(&pem)?;
    (!certificates.is_empty()).then_some(certificates)
}

#[cfg(feature = "tls")]
fn parse_pem(pem: &[u8]) -> Option<Vec<CaCert>> {
    use rustls::pki_types::pem::PemObject;
    CaCert::pem_slice_iter(pem).collect::<Result<_, _>>().ok()
}

/// Never called: `PT_CA_CERT` is refused before its file is read (`settings/parts.rs`).
#[cfg(not(feature = "tls"))]
fn parse_pem(_pem: &[u8]) -> Option<Vec<CaCert>> {
    None
}

#[cfg(all(test, unix))]
mod tests {
    /// An endless file is refused after the bound, not read until memory runs out.
    #[test]
    fn an_endless_file_is_refused() {
        assert_eq!(super::read_certificates("/dev/zero"), None);
    }
}
