//! The commands the node understands, parsed and arity-checked from a request's arguments.

use bytes::Bytes;

/// A request the node knows how to execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// `PING [message]`.
    Ping(Option<Bytes>),
    /// `ECHO message`.
    Echo(Bytes),
    /// `HELLO [protover [option ...]]`.
    Hello(Option<Bytes>),
    /// `CLIENT subcommand [arg ...]`.
    Client(Bytes, Vec<Bytes>),
    /// `SELECT index`.
    Select(Bytes),
    /// `COMMAND [...]`: command introspection, answered with nothing.
    Introspect,
    /// `GET key`.
    Get(Bytes),
    /// `SET key value` (options are refused).
    Set(Bytes, Bytes),
    /// `SADD key member [member ...]`.
    SAdd(Bytes, Vec<Bytes>),
    /// `SMEMBERS key`.
    SMembers(Bytes),
    /// `DEL key [key ...]`.
    Del(Vec<Bytes>),
    /// `DBSIZE`.
    DbSize,
    /// `FLUSHALL [ASYNC|SYNC]` (and `FLUSHDB`: there is one database).
    FlushAll,
    /// `CAS key expected new`: faultline's compare-and-set.
    Cas {
        /// The key to swap.
        key: Bytes,
        /// The value it must hold, byte for byte.
        expected: Bytes,
        /// The value it gets if it did.
        new: Bytes,
    },
    /// `INCRBY key delta`.
    IncrBy(Bytes, i64),
    /// `INFO [section ...]`.
    Info(Vec<Bytes>),
    /// `ROLE`.
    Role,
    /// `REPLCONF option value ...`: a replica describing itself to its primary.
    Replconf(Vec<Bytes>),
    /// `FLSYNC`: turn this connection into a replication link (see [`crate::replication`]).
    Flsync,
    /// `REPLICAOF host port` (follow that primary), or `REPLICAOF NO ONE` (`None`: become one).
    Replicaof(Option<(Bytes, Bytes)>),
    /// `LIE ON|OFF`: faultline's Byzantine fault, reads answering invented values while on.
    Lie(bool),
    /// `QFETCH key`: a quorum coordinator asking this replica for its versioned value.
    QFetch(Bytes),
    /// `QSTORE key counter node kind value...`: a quorum coordinator's write to this replica.
    QStore(Bytes, Vec<Bytes>),
    /// `GOSSIP digest key value...`: a gossip peer's whole state, with its digest.
    Gossip(Vec<Bytes>),
    /// `QUIT`.
    Quit,
}

/// Why a request is refused; its text is the RESP error sent back (Redis's wording where Redis has one).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CommandError {
    /// No such command.
    #[error("ERR unknown command '{name}', with args beginning with: {args}")]
    Unknown {
        /// The command name as sent.
        name: String,
        /// Its first arguments, quoted as Redis quotes them.
        args: String,
    },
    /// Too few or too many arguments.
    #[error("ERR wrong number of arguments for '{0}' command")]
    WrongArity(String),
    /// A write sent to a replica.
    #[error("READONLY You can't write against a read only replica.")]
    ReadOnly,
    /// HELLO asked for a protocol we do not speak.
    #[error("NOPROTO unsupported protocol version")]
    NoProto,
    /// Anything else, with its full message.
    #[error("ERR {0}")]
    Other(String),
}

impl Command {
    /// Parses a request (command name first, any case).
    pub fn parse(args: Vec<Bytes>) -> Result<Command, CommandError> {
        let mut args = args.into_iter();
        let Some(raw_name) = args.next() else {
            return Err(CommandError::Other("empty command".into()));
        };
        let name = String::from_utf8_lossy(&raw_name).to_ascii_lowercase();
        let args: Vec<Bytes> = args.collect();
        let Some(&(_, min, max)) = ARITY.iter().find(|(n, _, _)| *n == name) else {
            return Err(unknown(&raw_name, &args));
        };
        // Arity counts the command name, as Redis's does.
        let argc = args.len() + 1;
        if argc < min || max.is_some_and(|max| argc > max) {
            return Err(CommandError::WrongArity(name));
        }
        let mut args = args.into_iter();
        Ok(match name.as_str() {
            "ping" => Command::Ping(args.next()),
            "echo" => Command::Echo(take(&mut args)),
            "hello" => Command::Hello(args.next()),
            "client" => {
                let sub = take(&mut args);
                Command::Client(sub, args.collect())
            }
            "select" => Command::Select(take(&mut args)),
            "command" => Command::Introspect,
            "get" => Command::Get(take(&mut args)),
            "set" if argc > 3 => {
                return Err(CommandError::Other(
                    "SET options are not supported by faultline's node".into(),
                ))
            }
            "set" => Command::Set(take(&mut args), take(&mut args)),
            "sadd" => {
                let key = take(&mut args);
                Command::SAdd(key, args.collect())
            }
            "smembers" => Command::SMembers(take(&mut args)),
            "del" => Command::Del(args.collect()),
            "dbsize" => Command::DbSize,
            "flushall" | "flushdb" => Command::FlushAll,
            "cas" => Command::Cas {
                key: take(&mut args),
                expected: take(&mut args),
                new: take(&mut args),
            },
            "incrby" => {
                let key = take(&mut args);
                let delta = std::str::from_utf8(&take(&mut args))
                    .ok()
                    .and_then(|d| d.parse().ok())
                    .ok_or_else(|| {
                        CommandError::Other("value is not an integer or out of range".into())
                    })?;
                Command::IncrBy(key, delta)
            }
            "info" => Command::Info(args.collect()),
            "role" => Command::Role,
            "replconf" => Command::Replconf(args.collect()),
            "flsync" => Command::Flsync,
            "replicaof" => {
                let (host, port) = (take(&mut args), take(&mut args));
                let no_one = host.eq_ignore_ascii_case(b"no") && port.eq_ignore_ascii_case(b"one");
                Command::Replicaof((!no_one).then_some((host, port)))
            }
            "lie" => match take(&mut args).to_ascii_lowercase().as_slice() {
                b"on" => Command::Lie(true),
                b"off" => Command::Lie(false),
                _ => return Err(CommandError::Other("LIE takes ON or OFF".into())),
            },
            "qfetch" => Command::QFetch(take(&mut args)),
            "qstore" => {
                let key = take(&mut args);
                Command::QStore(key, args.collect())
            }
            "gossip" => Command::Gossip(args.collect()),
            "quit" => Command::Quit,
            _ => unreachable!("every name in ARITY is matched above"),
        })
    }

    /// Whether the command changes data, and so is refused on a replica.
    pub fn is_write(&self) -> bool {
        matches!(
            self,
            Command::Set(..)
                | Command::SAdd(..)
                | Command::Del(_)
                | Command::FlushAll
                | Command::Cas { .. }
                | Command::IncrBy(..)
        )
    }
}

/// Each command's name with its least and greatest argument count, name included.
const ARITY: &[(&str, usize, Option<usize>)] = &[
    ("ping", 1, Some(2)),
    ("echo", 2, Some(2)),
    ("hello", 1, None),
    ("client", 2, None),
    ("select", 2, Some(2)),
    ("command", 1, None),
    ("get", 2, Some(2)),
    ("set", 3, None),
    ("sadd", 3, None),
    ("smembers", 2, Some(2)),
    ("del", 2, None),
    ("dbsize", 1, Some(1)),
    ("flushall", 1, Some(2)),
    ("flushdb", 1, Some(2)),
    ("cas", 4, Some(4)),
    ("incrby", 3, Some(3)),
    ("info", 1, None),
    ("role", 1, Some(1)),
    ("replconf", 1, None),
    ("flsync", 1, Some(1)),
    ("replicaof", 3, Some(3)),
    ("lie", 2, Some(2)),
    ("qfetch", 2, Some(2)),
    ("qstore", 6, None),
    ("gossip", 2, None),
    ("quit", 1, None),
];

/// The next argument; arity is checked before, so it exists.
fn take(args: &mut impl Iterator<Item = Bytes>) -> Bytes {
    args.next().unwrap_or_default()
}

fn unknown(name: &[u8], args: &[Bytes]) -> CommandError {
    let quote = |b: &[u8]| {
        let s = String::from_utf8_lossy(b);
        format!("'{}' ", s.chars().take(128).collect::<String>())
    };
    CommandError::Unknown {
        name: String::from_utf8_lossy(name).chars().take(128).collect(),
        args: args.iter().take(20).map(|a| quote(a)).collect(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(words: &[&'static str]) -> Result<Command, CommandError> {
        Command::parse(
            words
                .iter()
                .map(|w| Bytes::from_static(w.as_bytes()))
                .collect(),
        )
    }

    #[test]
    fn names_are_case_insensitive() {
        assert_eq!(
            parse(&["gEt", "k"]),
            Ok(Command::Get(Bytes::from_static(b"k")))
        );
        assert_eq!(parse(&["PING"]), Ok(Command::Ping(None)));
    }

    #[test]
    fn errors_read_like_redis() {
        assert_eq!(
            parse(&["GET"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'get' command"
        );
        assert_eq!(
            parse(&["cas", "k", "v"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'cas' command"
        );
        assert_eq!(
            parse(&["NOPE", "a"]).unwrap_err().to_string(),
            "ERR unknown command 'NOPE', with args beginning with: 'a' "
        );
        assert!(parse(&["SET", "k", "v", "NX"]).is_err());
        assert_eq!(
            parse(&["SADD", "s"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'sadd' command"
        );
        assert_eq!(
            parse(&["smembers"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'smembers' command"
        );
        assert_eq!(
            parse(&["smembers", "a", "b"]).unwrap_err().to_string(),
            "ERR wrong number of arguments for 'smembers' command"
        );
    }

    #[test]
    fn set_commands_parse() {
        let b = |s: &'static str| Bytes::from_static(s.as_bytes());
        assert_eq!(
            parse(&["sAdd", "s", "1", "2"]).unwrap(),
            Command::SAdd(b("s"), vec![b("1"), b("2")])
        );
        assert!(parse(&["SADD", "s", "1"]).unwrap().is_write());
        assert_eq!(
            parse(&["SMEMBERS", "s"]).unwrap(),
            Command::SMembers(b("s"))
        );
        assert!(!parse(&["SMEMBERS", "s"]).unwrap().is_write());
    }

    #[test]
    fn writes_are_marked() {
        assert!(parse(&["cas", "k", "a", "b"]).unwrap().is_write());
        assert_eq!(
            parse(&["INCRBY", "c", "-4"]).unwrap(),
            Command::IncrBy(Bytes::from_static(b"c"), -4)
        );
        assert!(parse(&["incrby", "c", "2"]).unwrap().is_write());
        assert_eq!(
            parse(&["incrby", "c", "x"]).unwrap_err().to_string(),
            "ERR value is not an integer or out of range"
        );
        assert!(parse(&["FLUSHDB"]).unwrap().is_write());
        assert!(!parse(&["get", "k"]).unwrap().is_write());
    }

    #[test]
    fn replicaof_takes_an_address_or_no_one() {
        assert_eq!(
            parse(&["REPLICAOF", "no", "One"]),
            Ok(Command::Replicaof(None))
        );
        assert_eq!(
            parse(&["replicaof", "10.0.0.1", "6379"]),
            Ok(Command::Replicaof(Some((
                Bytes::from_static(b"10.0.0.1"),
                Bytes::from_static(b"6379")
            ))))
        );
        assert!(parse(&["replicaof", "no"]).is_err());
    }

    #[test]
    fn lie_takes_on_or_off_and_is_no_write() {
        assert_eq!(parse(&["LIE", "on"]), Ok(Command::Lie(true)));
        assert_eq!(parse(&["lie", "OFF"]), Ok(Command::Lie(false)));
        assert!(!parse(&["lie", "on"]).unwrap().is_write());
        assert_eq!(
            parse(&["lie", "maybe"]).unwrap_err().to_string(),
            "ERR LIE takes ON or OFF"
        );
    }
}
