//! Quoting for the remote shell: ssh hands the remote side one command line, which its shell
//! splits again, so every word must arrive quoted.

/// `word` as one POSIX shell word: single-quoted, with each `'` closed, escaped and reopened.
pub fn quote(word: &str) -> String {
    if !word.is_empty()
        && word
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_./=:,+@%".contains(&b))
    {
        return word.to_string();
    }
    format!("'{}'", word.replace('\'', r"'\''"))
}

/// `words` as one command line for the remote shell.
pub fn command_line<S: AsRef<str>>(words: &[S]) -> String {
    words
        .iter()
        .map(|w| quote(w.as_ref()))
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn plain_words_stay_and_the_rest_is_single_quoted() {
        assert_eq!(quote("redis-server"), "redis-server");
        assert_eq!(quote("/var/lib/x.conf"), "/var/lib/x.conf");
        assert_eq!(quote(""), "''");
        assert_eq!(quote("a b"), "'a b'");
        assert_eq!(quote("$HOME"), "'$HOME'");
        assert_eq!(quote("it's"), r"'it'\''s'");
        assert_eq!(
            command_line(&["printf", "%s\n", "a;b"]),
            "printf '%s\n' 'a;b'"
        );
    }

    /// What the local shell makes of a quoted line is what was meant: the same words.
    #[test]
    fn a_shell_splits_a_quoted_line_back_into_the_words() {
        let words = [
            "printf", "%s|", "a b", "it's", "$HOME", "\"q\"", "`x`", "\\", "*", "",
        ];
        let out = std::process::Command::new("sh")
            .args(["-c", &command_line(&words)])
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "a b|it's|$HOME|\"q\"|`x`|\\|*||"
        );
    }
}
