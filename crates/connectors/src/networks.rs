//! Named address ranges, in the files their owners publish: AWS
//! `ip-ranges.json`, Google Cloud `cloud.json`, Azure Service Tags
//! (`ServiceTags_Public_*.json`), GitHub's `meta` API answer, and custody's own
//! TOML for a company's egress and NAT ranges. Usage judges a caller's network
//! by the range it falls in (`custody_analysis::usage::Networks`).

use custody_model::net::parse_cidr;
use serde_json::Value;

/// The ranges of one file, each with the name of the network it belongs to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RangeFile {
    /// `aws-ip-ranges`, `gcp-cloud`, `azure-service-tags`, `github-meta`, `custody`.
    pub format: &'static str,
    /// When the publisher says it made the file (`createDate`,
    /// `creationTime`, `changeNumber`), as written.
    pub published: Option<String>,
    /// (CIDR, name): `aws/us-east-1`, `gcp/europe-west1`, `azure/eastus`,
    /// `github/actions`, or the TOML's own names.
    pub ranges: Vec<(String, String)>,
}

/// What a file of ranges looks like:
///
/// ```toml
/// [[network]]
/// name = "corp-egress"
/// cidrs = ["198.51.100.0/24", "2001:db8:10::/48"]
/// ```
#[derive(serde::Deserialize)]
struct Custody {
    network: Vec<Named>,
}

#[derive(serde::Deserialize)]
struct Named {
    name: String,
    cidrs: Vec<String>,
}

/// Reads a ranges file; the error says where (line and column, or JSON
/// pointer) and what is wrong. Never echoes more of the file than a field name.
pub fn parse(bytes: &[u8]) -> Result<RangeFile, String> {
    let text = std::str::from_utf8(bytes)
        .map_err(|e| format!("not UTF-8 text (byte {})", e.valid_up_to()))?;
    let text = text.trim_start_matches('\u{feff}');
    if !text.trim_start().starts_with('{') {
        let c: Custody = toml::from_str(text).map_err(|e| {
            format!(
                "neither JSON nor custody's TOML of ranges ([[network]] name, cidrs): {}",
                e.message()
            )
        })?;
        let mut ranges = Vec::new();
        for (i, n) in c.network.iter().enumerate() {
            if n.name.trim().is_empty() {
                return Err(format!("network {} has an empty name", i + 1));
            }
            for (j, cidr) in n.cidrs.iter().enumerate() {
                check(
                    cidr,
                    &format!("network {} (`{}`) cidrs[{j}]", i + 1, n.name),
                )?;
                ranges.push((cidr.trim().to_string(), n.name.trim().to_string()));
            }
        }
        return Ok(RangeFile {
            format: "custody",
            published: None,
            ranges,
        });
    }
    let v: Value = serde_json::from_str(text)
        .map_err(|e| format!("not valid JSON at line {}, column {}", e.line(), e.column()))?;
    let s = |p: &str| v.pointer(p).and_then(Value::as_str).map(str::to_string);
    if let Some(prefixes) = v.get("prefixes").and_then(Value::as_array) {
        let aws = prefixes.iter().any(|p| p.get("ip_prefix").is_some())
            || v.get("ipv6_prefixes").is_some();
        let mut ranges = Vec::new();
        if aws {
            for (list, field) in [("prefixes", "ip_prefix"), ("ipv6_prefixes", "ipv6_prefix")] {
                for (i, p) in v
                    .get(list)
                    .and_then(Value::as_array)
                    .into_iter()
                    .flatten()
                    .enumerate()
                {
                    let at = format!("/{list}/{i}");
                    let cidr = field_str(p, field, &at)?;
                    let region = field_str(p, "region", &at)?;
                    check(cidr, &format!("{at}/{field}"))?;
                    ranges.push((cidr.to_string(), format!("aws/{region}")));
                }
            }
            return Ok(RangeFile {
                format: "aws-ip-ranges",
                published: s("/createDate"),
                ranges,
            });
        }
        for (i, p) in prefixes.iter().enumerate() {
            let at = format!("/prefixes/{i}");
            let cidr = match (p.get("ipv4Prefix"), p.get("ipv6Prefix")) {
                (Some(Value::String(c)), _) | (_, Some(Value::String(c))) => c.as_str(),
                _ => return Err(format!("{at}: no ipv4Prefix or ipv6Prefix")),
            };
            check(cidr, &at)?;
            let scope = p.get("scope").and_then(Value::as_str).unwrap_or("global");
            ranges.push((cidr.to_string(), format!("gcp/{scope}")));
        }
        return Ok(RangeFile {
            format: "gcp-cloud",
            published: s("/creationTime"),
            ranges,
        });
    }
    if let Some(values) = v.get("values").and_then(Value::as_array) {
        // The regional AzureCloud tags partition Azure's addresses by region;
        // a file without them (a filtered download) is named by its tags.
        let regional = values.iter().any(|t| {
            t.get("name")
                .and_then(Value::as_str)
                .is_some_and(|n| n.starts_with("AzureCloud."))
        });
        let mut ranges = Vec::new();
        for (i, t) in values.iter().enumerate() {
            let at = format!("/values/{i}");
            let name = field_str(t, "name", &at)?;
            let group = match (regional, name.strip_prefix("AzureCloud.")) {
                (true, Some(region)) => format!("azure/{region}"),
                (true, None) => continue,
                (false, _) => format!("azure/{name}"),
            };
            let prefixes = t
                .pointer("/properties/addressPrefixes")
                .and_then(Value::as_array)
                .ok_or_else(|| format!("{at}/properties/addressPrefixes: missing"))?;
            for (j, c) in prefixes.iter().enumerate() {
                let cidr = c
                    .as_str()
                    .ok_or_else(|| format!("{at}/properties/addressPrefixes/{j}: not a string"))?;
                check(cidr, &format!("{at}/properties/addressPrefixes/{j}"))?;
                ranges.push((cidr.to_string(), group.clone()));
            }
        }
        return Ok(RangeFile {
            format: "azure-service-tags",
            published: v.get("changeNumber").map(|c| c.to_string()),
            ranges,
        });
    }
    if v.get("verifiable_password_authentication").is_some() || v.get("actions").is_some() {
        let mut ranges = Vec::new();
        if let Some(o) = v.as_object() {
            for (key, list) in o {
                let Some(list) = list.as_array() else {
                    continue;
                };
                // Lists of ranges only (`domains` and fingerprints are not).
                if !list
                    .iter()
                    .all(|c| c.as_str().is_some_and(|c| parse_cidr(c).is_some()))
                {
                    continue;
                }
                for c in list.iter().filter_map(Value::as_str) {
                    ranges.push((c.to_string(), format!("github/{key}")));
                }
            }
        }
        return Ok(RangeFile {
            format: "github-meta",
            published: None,
            ranges,
        });
    }
    Err("not a ranges file custody knows: AWS ip-ranges.json, Google Cloud cloud.json, Azure Service Tags, GitHub meta, or custody's TOML ([[network]] name, cidrs)".into())
}

fn field_str<'a>(v: &'a Value, field: &str, at: &str) -> Result<&'a str, String> {
    v.get(field)
        .and_then(Value::as_str)
        .ok_or_else(|| format!("{at}/{field}: missing or not a string"))
}

fn check(cidr: &str, at: &str) -> Result<(), String> {
    match parse_cidr(cidr) {
        Some(_) => Ok(()),
        None => Err(format!(
            "{at}: not an address range ({} characters)",
            cidr.chars().count()
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aws_ip_ranges() {
        let f = parse(br#"{"syncToken":"1700000000","createDate":"2026-11-20-22-13-07","prefixes":[{"ip_prefix":"3.5.140.0/22","region":"ap-northeast-2","service":"AMAZON","network_border_group":"ap-northeast-2"},{"ip_prefix":"52.94.76.0/22","region":"us-west-2","service":"AMAZON","network_border_group":"us-west-2"}],"ipv6_prefixes":[{"ipv6_prefix":"2600:1f14::/35","region":"us-west-2","service":"EC2","network_border_group":"us-west-2"}]}"#).unwrap();
        assert_eq!(f.format, "aws-ip-ranges");
        assert_eq!(f.published.as_deref(), Some("2026-11-20-22-13-07"));
        assert_eq!(
            f.ranges,
            [
                ("3.5.140.0/22".to_string(), "aws/ap-northeast-2".to_string()),
                ("52.94.76.0/22".into(), "aws/us-west-2".into()),
                ("2600:1f14::/35".into(), "aws/us-west-2".into()),
            ]
        );
    }

    #[test]
    fn gcp_azure_github_and_custody() {
        let g = parse(br#"{"syncToken":"1","creationTime":"2026-11-20T11:00:00.000","prefixes":[{"ipv4Prefix":"34.80.0.0/15","service":"Google Cloud","scope":"asia-east1"},{"ipv6Prefix":"2600:1900:4030::/44","service":"Google Cloud","scope":"us-west1"}]}"#).unwrap();
        assert_eq!(g.format, "gcp-cloud");
        assert_eq!(g.ranges[1].1, "gcp/us-west1");
        let a = parse(br#"{"changeNumber":312,"cloud":"Public","values":[{"name":"ActionGroup","id":"ActionGroup","properties":{"changeNumber":40,"region":"","regionId":0,"platform":"Azure","systemService":"ActionGroup","addressPrefixes":["4.145.74.52/30"],"networkFeatures":["API"]}},{"name":"AzureCloud.eastus","id":"AzureCloud.eastus","properties":{"changeNumber":100,"region":"eastus","regionId":32,"platform":"Azure","systemService":"","addressPrefixes":["20.42.0.0/17","2603:1030:210::/47"]}}]}"#).unwrap();
        assert_eq!(a.format, "azure-service-tags");
        assert_eq!(a.ranges.len(), 2);
        assert!(a.ranges.iter().all(|r| r.1 == "azure/eastus"));
        let gh = parse(br#"{"verifiable_password_authentication":false,"ssh_key_fingerprints":{"SHA256_ED25519":"+DiY3wvvV6TuJJhbpZisF/zLDA0zPMSvHdkr4UvCOqU"},"hooks":["192.30.252.0/22"],"actions":["4.148.0.0/16","2a01:111:f403:f90c::/62"],"domains":{"website":["*.github.com"]}}"#).unwrap();
        assert_eq!(gh.format, "github-meta");
        assert_eq!(gh.ranges.len(), 3);
        assert!(gh
            .ranges
            .contains(&("4.148.0.0/16".into(), "github/actions".into())));
        let c = parse(b"# our egress\n[[network]]\nname = \"corp-egress\"\ncidrs = [\"198.51.100.0/24\", \"203.0.113.16/28\"]\n").unwrap();
        assert_eq!(c.format, "custody");
        assert_eq!(c.ranges.len(), 2);
    }

    #[test]
    fn bad_files_say_where() {
        let e = parse(b"{\"prefixes\": [{\"ip_prefix\": \"3.5.140.0/40\", \"region\": \"x\"}]}")
            .unwrap_err();
        assert!(e.starts_with("/prefixes/0/ip_prefix"), "{e}");
        let e = parse(b"{\"prefixes\": [}").unwrap_err();
        assert!(e.contains("line 1"), "{e}");
        let e = parse(b"[[network]]\nname = \"x\"\ncidrs = [\"corp\"]\n").unwrap_err();
        assert!(e.contains("cidrs[0]"), "{e}");
        assert!(parse(b"{\"a\": 1}")
            .unwrap_err()
            .contains("not a ranges file"));
    }
}
