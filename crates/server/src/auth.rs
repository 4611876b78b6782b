//! Passwords and API tokens of the team.
//!
//! Passwords are hashed with argon2id (the crate's default parameters, the ones OWASP
//! recommends) into PHC strings that carry their own salt and parameters. API tokens are
//! 256 random bits: guessing one is hopeless, so a fast SHA-256 hash is enough to keep
//! them out of the database in the clear and lets a request be checked with one lookup.

use argon2::password_hash::rand_core::OsRng;
use argon2::password_hash::{PasswordHash, PasswordHasher, PasswordVerifier, SaltString};
use argon2::Argon2;
use rand::RngCore;
use sha2::{Digest, Sha256};

/// Shorter passwords are refused: eight characters is the least any current guidance
/// accepts for a password that guards customer conversations.
pub const MIN_PASSWORD_CHARS: usize = 8;

/// Every API token starts with this, so one pasted into the wrong place is recognisable
/// (and secret scanners can be taught the pattern).
pub const API_TOKEN_PREFIX: &str = "fdt_";

const API_TOKEN_BYTES: usize = 32;

#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    #[error("the password is too short: use at least {MIN_PASSWORD_CHARS} characters")]
    PasswordTooShort,
    #[error("the password cannot be hashed: {0}")]
    Hash(String),
}

/// An argon2id PHC string for `password`, with a fresh random salt.
pub fn hash_password(password: &str) -> Result<String, AuthError> {
    if password.chars().count() < MIN_PASSWORD_CHARS {
        return Err(AuthError::PasswordTooShort);
    }
    let salt = SaltString::generate(&mut OsRng);
    Argon2::default()
        .hash_password(password.as_bytes(), &salt)
        .map(|hash| hash.to_string())
        .map_err(|err| AuthError::Hash(err.to_string()))
}

/// Whether `password` matches the stored `hash`. A hash that cannot be read matches
/// nothing.
pub fn verify_password(password: &str, hash: &str) -> bool {
    let Ok(parsed) = PasswordHash::new(hash) else {
        tracing::warn!("a stored password hash cannot be read; nobody can sign in with it");
        return false;
    };
    Argon2::default()
        .verify_password(password.as_bytes(), &parsed)
        .is_ok()
}

/// A new API token, to show its owner once.
pub fn new_api_token() -> String {
    let mut bytes = [0u8; API_TOKEN_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut bytes);
    format!("{API_TOKEN_PREFIX}{}", hex::encode(bytes))
}

/// What the store keeps of an API token.
pub fn api_token_hash(token: &str) -> String {
    hex::encode(Sha256::digest(token.as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_password_matches_its_hash_only() {
        let hash = hash_password("correct horse").unwrap();
        assert!(hash.starts_with("$argon2id$"));
        assert!(verify_password("correct horse", &hash));
        assert!(!verify_password("correct horsE", &hash));
        assert!(!verify_password("correct horse", "not a hash"));
        // A fresh salt every time: equal passwords do not give equal hashes.
        assert_ne!(hash, hash_password("correct horse").unwrap());
    }

    #[test]
    fn short_passwords_are_refused() {
        assert!(matches!(
            hash_password("1234567"),
            Err(AuthError::PasswordTooShort)
        ));
    }

    #[test]
    fn tokens_are_unique_and_hashed_stably() {
        let token = new_api_token();
        assert!(token.starts_with(API_TOKEN_PREFIX));
        assert_eq!(token.len(), API_TOKEN_PREFIX.len() + 2 * API_TOKEN_BYTES);
        assert_ne!(token, new_api_token());
        assert_eq!(api_token_hash(&token), api_token_hash(&token));
        assert_ne!(api_token_hash(&token), token);
    }
}
