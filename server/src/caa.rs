//! Which certificate authorities a domain's CAA records allow (RFC 8659), asked of a DNS
//! server over UDP: the one `gad verify` check that needs more of DNS than the system's
//! resolver gives (`getaddrinfo` answers addresses only). One record type, one question: the
//! wire format is small enough to write here rather than link a resolver.

use std::net::SocketAddr;
use std::time::Duration;

const TYPE_CAA: u16 = 257;
const CLASS_IN: u16 = 1;

/// One CAA property.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Property {
    pub critical: bool,
    pub tag: String,
    pub value: String,
}

/// The relevant record set of `host` (RFC 8659 §3): the CAA records of the host itself or,
/// when it has none, of its closest ancestor that has some; `None` when no name up to the
/// top-level domain has any. Returns the name that held them too.
pub async fn relevant_set(host: &str, server: SocketAddr) -> Result<Option<(String, Vec<Property>)>, String> {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    let labels: Vec<&str> = host.split('.').collect();
    for start in 0..labels.len() {
        let name = labels[start..].join(".");
        let set = query(&name, server).await?;
        if !set.is_empty() {
            return Ok(Some((name, set)));
        }
    }
    Ok(None)
}

/// Whether a non-wildcard certificate for the host may come from one of `cas` (issuer
/// domains, e.g. `letsencrypt.org`) under `set`: `Err` says why not.
pub fn allows(set: &[Property], cas: &[String]) -> Result<String, String> {
    if let Some(p) = set.iter().find(|p| p.critical && !matches!(p.tag.as_str(), "issue" | "issuewild" | "iodef")) {
        return Err(format!("una etiqueta crítica desconocida («{}») impide emitir a toda autoridad", p.tag));
    }
    let issuers: Vec<String> = set
        .iter()
        .filter(|p| p.tag == "issue")
        .map(|p| p.value.split(';').next().unwrap_or_default().trim().to_ascii_lowercase())
        .collect();
    if issuers.is_empty() {
        return Ok("sin propiedad «issue»: cualquier autoridad puede emitir".into());
    }
    match cas.iter().find(|ca| issuers.iter().any(|i| i.eq_ignore_ascii_case(ca))) {
        Some(ca) => Ok(format!("autoriza a {ca}")),
        None => {
            let named: Vec<&str> = issuers.iter().filter(|i| !i.is_empty()).map(String::as_str).collect();
            Err(if named.is_empty() {
                "no autoriza a ninguna autoridad".into()
            } else {
                format!("solo autoriza a {}, no a {}", named.join(", "), cas.join(" ni "))
            })
        }
    }
}

/// The first `nameserver` of `/etc/resolv.conf`, port 53.
pub fn system_server() -> Option<SocketAddr> {
    let text = std::fs::read_to_string("/etc/resolv.conf").ok()?;
    text.lines()
        .filter_map(|l| l.trim().strip_prefix("nameserver"))
        .filter_map(|ip| ip.trim().parse::<std::net::IpAddr>().ok())
        .map(|ip| SocketAddr::new(ip, 53))
        .next()
}

/// The CAA records of exactly `name` (an alias's target's included: the server follows it).
async fn query(name: &str, server: SocketAddr) -> Result<Vec<Property>, String> {
    let id: u16 = rand::random();
    let packet = encode_query(id, name)?;
    let bind: SocketAddr = if server.is_ipv4() { "0.0.0.0:0" } else { "[::]:0" }.parse().expect("an address");
    let socket = tokio::net::UdpSocket::bind(bind).await.map_err(|e| format!("no se pudo abrir un socket: {e}"))?;
    socket.connect(server).await.map_err(|e| format!("servidor DNS {server}: {e}"))?;
    let mut buf = vec![0u8; 4096];
    for _ in 0..2 {
        socket.send(&packet).await.map_err(|e| format!("servidor DNS {server}: {e}"))?;
        match tokio::time::timeout(Duration::from_secs(3), socket.recv(&mut buf)).await {
            Err(_) => continue,
            Ok(Err(e)) => return Err(format!("servidor DNS {server}: {e}")),
            Ok(Ok(n)) => match decode_answer(id, &buf[..n]) {
                Ok(Some(set)) => return Ok(set),
                Ok(None) => continue, // another query's answer
                Err(e) => return Err(format!("CAA de {name}: {e}")),
            },
        }
    }
    Err(format!("el servidor DNS {server} no respondió (CAA de {name})"))
}

fn encode_query(id: u16, name: &str) -> Result<Vec<u8>, String> {
    let mut p = Vec::with_capacity(64);
    p.extend_from_slice(&id.to_be_bytes());
    p.extend_from_slice(&0x0100u16.to_be_bytes()); // recursion desired
    p.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 1]); // one question, one additional (EDNS)
    for label in name.split('.') {
        if label.is_empty() || label.len() > 63 {
            return Err(format!("nombre inválido «{name}»"));
        }
        p.push(label.len() as u8);
        p.extend_from_slice(label.as_bytes());
    }
    p.push(0);
    p.extend_from_slice(&TYPE_CAA.to_be_bytes());
    p.extend_from_slice(&CLASS_IN.to_be_bytes());
    // OPT: root name, type 41, UDP payload 4096, no extended flags, no options.
    p.extend_from_slice(&[0, 0, 41, 0x10, 0, 0, 0, 0, 0, 0, 0]);
    Ok(p)
}

/// The CAA properties of an answer to query `id`; `None` when it answers another query.
pub fn decode_answer(id: u16, m: &[u8]) -> Result<Option<Vec<Property>>, String> {
    let short = || "respuesta DNS incompleta".to_owned();
    let u16_at = |at: usize| m.get(at..at + 2).map(|b| u16::from_be_bytes([b[0], b[1]])).ok_or_else(short);
    if u16_at(0)? != id {
        return Ok(None);
    }
    let flags = u16_at(2)?;
    if flags & 0x8000 == 0 {
        return Err("no es una respuesta".into());
    }
    if flags & 0x0200 != 0 {
        return Err("respuesta truncada".into());
    }
    match flags & 0x000f {
        0 => {}
        3 => return Ok(Some(Vec::new())), // NXDOMAIN: the name has no records
        rcode => return Err(format!("el servidor respondió con error (rcode {rcode})")),
    }
    let (questions, answers) = (u16_at(4)?, u16_at(6)?);
    let mut at = 12;
    for _ in 0..questions {
        at = skip_name(m, at).ok_or_else(short)? + 4;
    }
    let mut set = Vec::new();
    for _ in 0..answers {
        at = skip_name(m, at).ok_or_else(short)?;
        let (kind, length) = (u16_at(at)?, usize::from(u16_at(at + 8)?));
        let data = m.get(at + 10..at + 10 + length).ok_or_else(short)?;
        at += 10 + length;
        if kind != TYPE_CAA {
            continue; // an alias on the way
        }
        let (&flags, rest) = data.split_first().ok_or_else(short)?;
        let (&tag_len, rest) = rest.split_first().ok_or_else(short)?;
        let tag = rest.get(..usize::from(tag_len)).ok_or_else(short)?;
        let value = &rest[usize::from(tag_len)..];
        set.push(Property {
            critical: flags & 0x80 != 0,
            tag: String::from_utf8_lossy(tag).to_ascii_lowercase(),
            value: String::from_utf8_lossy(value).into_owned(),
        });
    }
    Ok(Some(set))
}

/// The offset after the (possibly compressed) name at `at`.
fn skip_name(m: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *m.get(at)?;
        match len {
            0 => return Some(at + 1),
            l if l & 0xc0 == 0xc0 => return Some(at + 2),
            l => at += 1 + usize::from(l),
        }
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)]
mod tests {
    use super::*;

    fn prop(critical: bool, tag: &str, value: &str) -> Property {
        Property { critical, tag: tag.into(), value: value.into() }
    }

    #[test]
    fn the_issue_properties_decide() {
        let le = vec!["letsencrypt.org".to_owned()];
        assert!(allows(&[prop(false, "issue", "letsencrypt.org")], &le).is_ok());
        assert!(allows(&[prop(false, "issue", "LetsEncrypt.org; validationmethods=dns-01")], &le).is_ok());
        assert!(allows(&[prop(false, "iodef", "mailto:x@y.z"), prop(false, "issuewild", ";")], &le).is_ok());
        let other = allows(&[prop(false, "issue", "digicert.com")], &le).unwrap_err();
        assert!(other.contains("digicert.com") && other.contains("letsencrypt.org"), "{other}");
        assert!(allows(&[prop(false, "issue", ";")], &le).unwrap_err().contains("ninguna"));
        assert!(allows(&[prop(true, "tbs", "x"), prop(false, "issue", "letsencrypt.org")], &le).is_err());
        assert!(allows(&[prop(false, "tbs", "x"), prop(false, "issue", "letsencrypt.org")], &le).is_ok());
    }

    #[test]
    fn a_query_names_the_host_and_asks_for_caa() {
        let q = encode_query(0x1234, "gad.example.org").unwrap();
        assert_eq!(&q[..2], &[0x12, 0x34]);
        assert_eq!(&q[12..31], b"\x03gad\x07example\x03org\x00\x01\x01");
        assert!(encode_query(1, "a..b").is_err());
        // An answer to another query is not ours; garbage is an error, not a panic.
        assert_eq!(decode_answer(7, &q).unwrap(), None);
        assert!(decode_answer(0x1234, &q).is_err());
        assert!(decode_answer(0x1234, &[0x12, 0x34, 0x81]).is_err());
    }
}
