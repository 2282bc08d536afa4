//! Which environment a place belongs to, from the words in its name and path:
//! `prod`, `production`, `prd`, `live` → production; `dev`, `staging`, `test`,
//! `qa`, `uat`, `sandbox`, `nonprod`, `preprod`… → non-production. Words, not
//! substrings: `products` and `devices` say nothing. A place naming both (or
//! neither) has no environment: custody does not guess.

/// `production`, `non-production`, or `None` when the words do not say.
pub fn of(parts: &[&str]) -> Option<&'static str> {
    let (mut prod, mut nonprod) = (false, false);
    for part in parts {
        let words: Vec<String> = part
            .split(|c: char| !c.is_ascii_alphanumeric())
            .filter(|w| !w.is_empty())
            .map(str::to_ascii_lowercase)
            .collect();
        for (i, w) in words.iter().enumerate() {
            match w.as_str() {
                // `non-prod`, `pre-prod`: one environment written as two words.
                "prod" | "production" | "prd" | "live"
                    if i > 0 && matches!(words[i - 1].as_str(), "non" | "pre") =>
                {
                    nonprod = true
                }
                "prod" | "production" | "prd" | "live" => prod = true,
                "dev" | "development" | "staging" | "stage" | "stg" | "test" | "testing" | "qa"
                | "uat" | "sandbox" | "sbx" | "nonprod" | "preprod" | "nonproduction" => {
                    nonprod = true
                }
                _ => {}
            }
        }
    }
    match (prod, nonprod) {
        (true, false) => Some("production"),
        (false, true) => Some("non-production"),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::of;

    #[test]
    fn words_decide_not_substrings() {
        assert_eq!(of(&["payments/prod/aws-key"]), Some("production"));
        assert_eq!(
            of(&["kubernetes/prod/secrets.json", "finance/x"]),
            Some("production")
        );
        assert_eq!(of(&["payments-staging"]), Some("non-production"));
        assert_eq!(of(&["config/non-prod.env"]), Some("non-production"));
        assert_eq!(of(&["PreProd"]), Some("non-production"));
        assert_eq!(of(&["products/devices.json"]), None);
        assert_eq!(of(&["prod-to-dev-sync"]), None, "both: no guess");
        assert_eq!(of(&[".env"]), None);
    }
}
