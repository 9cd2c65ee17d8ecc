//! One action on every host at once: a thread per host, so that a slow host (an SSH round trip,
//! a namespace's firewall reload) costs its own time, not everyone's in turn.

/// Runs `act` on each of `hosts` (with its index) in a thread of its own; each host's outcome,
/// in the order given. A thread that panicked is that host's error.
pub fn at_once<H: Sync, T: Send>(
    hosts: &[H],
    act: impl Fn(usize, &H) -> Result<T, String> + Sync,
) -> Vec<Result<T, String>> {
    let act = &act;
    std::thread::scope(|scope| {
        let jobs: Vec<_> = hosts
            .iter()
            .enumerate()
            .map(|(i, h)| scope.spawn(move || act(i, h)))
            .collect();
        jobs.into_iter()
            .map(|j| {
                j.join()
                    .unwrap_or_else(|_| Err("a host's thread panicked".into()))
            })
            .collect()
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    #[test]
    fn outcomes_come_in_host_order_and_a_panic_is_that_hosts_error() {
        let hosts = ["a", "b", "c"];
        let out = at_once(&hosts, |i, h| match *h {
            "b" => panic!("b fails"),
            _ => Ok(format!("{i}{h}")),
        });
        assert_eq!(out[0], Ok("0a".to_string()));
        assert!(out[1].as_ref().unwrap_err().contains("panicked"));
        assert_eq!(out[2], Ok("2c".to_string()));
    }

    #[test]
    fn every_host_is_acted_on_while_the_others_are() {
        use std::sync::atomic::{AtomicUsize, Ordering};
        // Each action waits (boundedly) until all four have begun: in turn, none would see
        // the others.
        let begun = AtomicUsize::new(0);
        let out = at_once(&[(); 4], |_, _| {
            begun.fetch_add(1, Ordering::SeqCst);
            let deadline = Instant::now() + Duration::from_secs(10);
            while begun.load(Ordering::SeqCst) < 4 && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(1));
            }
            Ok(begun.load(Ordering::SeqCst))
        });
        assert_eq!(out, vec![Ok(4); 4]);
    }
}
