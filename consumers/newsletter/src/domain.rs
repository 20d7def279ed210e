//! Subscriber data as the service accepts it: parsed once at the edge, trusted afterwards.

/// A subscriber who asked to join and is yet to confirm.
#[derive(Debug, Clone)]
pub struct NewSubscriber {
    pub email: SubscriberEmail,
    pub name: SubscriberName,
}

/// A name we can safely show back in an e-mail.
#[derive(Debug, Clone)]
pub struct SubscriberName(String);

impl SubscriberName {
    /// Characters that would let a name smuggle markup or paths into what we render.
    const FORBIDDEN: [char; 9] = ['/', '(', ')', '"', '<', '>', '\\', '{', '}'];

    pub fn parse(s: String) -> Result<Self, String> {
        let trimmed = s.trim();
        if trimmed.is_empty() {
            return Err("the name is empty".into());
        }
        if trimmed.chars().count() > 256 {
            return Err("the name is longer than 256 characters".into());
        }
        if trimmed.contains(Self::FORBIDDEN) {
            return Err(format!("{trimmed:?} is not a valid subscriber name"));
        }
        Ok(Self(trimmed.to_owned()))
    }
}

impl AsRef<str> for SubscriberName {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

/// An address shaped like one: whether it exists, only the confirmation e-mail can tell.
#[derive(Debug, Clone)]
pub struct SubscriberEmail(String);

impl SubscriberEmail {
    pub fn parse(s: String) -> Result<Self, String> {
        let s = s.trim();
        let Some((local, domain)) = s.split_once('@') else {
            return Err(format!("{s:?} is not a valid subscriber email"));
        };
        let valid = !local.is_empty()
            && s.len() <= 254
            && domain.contains('.')
            && domain.split('.').all(|label| !label.is_empty())
            && !domain.contains('@')
            && !s.chars().any(|c| c.is_whitespace() || c.is_control());
        if !valid {
            return Err(format!("{s:?} is not a valid subscriber email"));
        }
        Ok(Self(s.to_owned()))
    }
}

impl AsRef<str> for SubscriberEmail {
    fn as_ref(&self) -> &str {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use super::{SubscriberEmail, SubscriberName};

    #[test]
    fn names_are_trimmed_and_checked() {
        assert_eq!(
            SubscriberName::parse(" Ursula ".into()).unwrap().as_ref(),
            "Ursula"
        );
        assert!(SubscriberName::parse("   ".into()).is_err());
        assert!(SubscriberName::parse("a".repeat(257)).is_err());
        assert!(SubscriberName::parse("<script>".into()).is_err());
    }

    #[test]
    fn emails_need_a_local_part_and_a_dotted_domain() {
        assert!(SubscriberEmail::parse("ursula@example.com".into()).is_ok());
        for bad in [
            "",
            "ursula",
            "@example.com",
            "ursula@",
            "ursula@example",
            "a b@c.d",
            "a@b..c",
        ] {
            assert!(SubscriberEmail::parse(bad.into()).is_err(), "{bad}");
        }
    }
}
