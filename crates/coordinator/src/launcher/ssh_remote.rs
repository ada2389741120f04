//! What the ssh launcher asks of `ssh` and of the remote shell, as data: the argument lists,
//! the remote scripts, and what a failed preflight means. Pure, so it is tested without hosts.

/// Exit statuses of the preflight script (chosen clear of ssh's 255 and the shell's 126/127).
pub const EXIT_MKTEMP: i32 = 90;
pub const EXIT_COPY: i32 = 91;
pub const EXIT_MISSING: i32 = 92;
/// ssh's own failure (connection, authentication, host key).
pub const EXIT_SSH: i32 = 255;

/// Quotes `s` for a POSIX shell.
pub fn sh_quote(s: &str) -> String {
    if !s.is_empty()
        && s.chars()
            .all(|c| c.is_ascii_alphanumeric() || "/._-:=@,+".contains(c))
    {
        return s.to_string();
    }
    format!("'{}'", s.replace('\'', r"'\''"))
}

/// A remote command line from its words, as one string for `sh -c` on the host.
pub fn sh_line(words: &[String]) -> String {
    words
        .iter()
        .map(|w| sh_quote(w))
        .collect::<Vec<_>>()
        .join(" ")
}

/// The arguments of `ssh` (after the program name) that run `script` with `sh -c` on `host`.
/// BatchMode=yes comes first (the first value of an option wins, so no user option can turn
/// it off); the user's `-o` options come before our defaults so theirs win.
pub fn ssh_args(user_options: &[String], host: &str, script: &str) -> Vec<String> {
    let mut args = vec!["-T".to_string(), "-o".into(), "BatchMode=yes".into()];
    for o in user_options {
        args.push("-o".into());
        args.push(o.clone());
    }
    for o in [
        "ConnectTimeout=10",
        "ServerAliveInterval=5",
        "ServerAliveCountMax=3",
    ] {
        args.push("-o".into());
        args.push(o.into());
    }
    args.push(host.to_string());
    args.push("--".into());
    // The login shell may not be POSIX; `sh -c` makes the script's meaning fixed.
    args.push(format!("sh -c {}", sh_quote(script)));
    args
}

/// The preflight script on one host: with `copy`, makes a private directory, receives this
/// binary on stdin into it and prints the directory first; then checks the binary runs by
/// sending a reachability probe to the coordinator.
pub fn preflight_script(exe: Option<&str>, coordinator: &str, nonce: &str) -> String {
    let probe = |exe: &str| {
        format!(
            "{exe} probe --coordinator {} --nonce {}",
            sh_quote(coordinator),
            sh_quote(nonce)
        )
    };
    match exe {
        Some(path) => {
            let q = sh_quote(path);
            format!(
                "test -x {q} || {{ echo \"no executable file at {path}\" >&2; exit {EXIT_MISSING}; }}; exec {}",
                probe(&q)
            )
        }
        None => format!(
            "umask 077; d=$(mktemp -d \"${{TMPDIR:-/tmp}}/collbench.XXXXXX\") || exit {EXIT_MKTEMP}; \
             echo \"$d\"; cat > \"$d/collbench\" && chmod 700 \"$d/collbench\" || exit {EXIT_COPY}; \
             exec {}",
            probe("\"$d/collbench\"")
        ),
    }
}

/// Why a host failed its preflight, from the exit status and stderr of its ssh.
pub fn classify(status: Option<i32>, stderr: &str, exe: &str) -> String {
    let last = stderr
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with("Warning: Permanently added"))
        .collect::<Vec<_>>()
        .join(" / ");
    let said = if last.is_empty() {
        String::new()
    } else {
        format!(": {last}")
    };
    match status {
        Some(EXIT_SSH) => {
            let what = if last.contains("Permission denied") {
                "key refused (ssh runs with BatchMode=yes: add the key to an agent, ~/.ssh/config or --ssh-option IdentityFile=...)"
            } else if last.contains("Host key verification failed") {
                "host key not trusted (add it to known_hosts)"
            } else if last.contains("Could not resolve hostname") {
                "unknown host"
            } else {
                "unreachable"
            };
            format!("{what}{said}")
        }
        Some(EXIT_MISSING) | Some(126) | Some(127) => {
            format!("no collbench binary at {exe} (give --remote-exe a path that exists on every host, or leave it out to copy this binary){said}")
        }
        Some(EXIT_MKTEMP) => format!("cannot make a private temporary directory{said}"),
        Some(EXIT_COPY) => format!("copying the collbench binary failed{said}"),
        Some(code) => format!("the probe failed with status {code}{said}"),
        None => format!("ssh was killed by a signal{said}"),
    }
}

/// The host part of `[user@]host` (what a node reports and what `--listen` is guessed from).
pub fn host_name(entry: &str) -> &str {
    entry.rsplit_once('@').map_or(entry, |(_, h)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quoting_survives_a_shell() {
        for s in ["plain", "with space", "it's", "$(rm -rf /)", "", "a'b\"c"] {
            let out = std::process::Command::new("sh")
                .arg("-c")
                .arg(format!("printf %s {}", sh_quote(s)))
                .output()
                .expect("sh runs");
            assert_eq!(String::from_utf8_lossy(&out.stdout), s);
        }
        assert_eq!(sh_quote("/usr/bin/collbench"), "/usr/bin/collbench");
    }

    #[test]
    fn batch_mode_comes_first_and_users_options_before_defaults() {
        let args = ssh_args(&["ConnectTimeout=2".into()], "alice@h1", "echo hi");
        assert_eq!(
            &args[..5],
            ["-T", "-o", "BatchMode=yes", "-o", "ConnectTimeout=2"]
        );
        let first_default = args
            .iter()
            .position(|a| a == "ConnectTimeout=10")
            .unwrap_or(0);
        assert!(first_default > 4);
        assert_eq!(
            args[args.len() - 3..],
            ["alice@h1", "--", "sh -c 'echo hi'"]
        );
    }

    #[test]
    fn preflight_scripts_run_in_sh() {
        // The remote-exe form fails with EXIT_MISSING for a path that is not there.
        let s = preflight_script(Some("/nonexistent/collbench"), "127.0.0.1:9", "n");
        let st = std::process::Command::new("sh")
            .arg("-c")
            .arg(&s)
            .output()
            .expect("sh");
        assert_eq!(st.status.code(), Some(EXIT_MISSING));
        assert!(String::from_utf8_lossy(&st.stderr).contains("no executable file"));
        let copy = preflight_script(None, "127.0.0.1:9", "n");
        assert!(copy.contains("umask 077") && copy.contains("chmod 700"));
    }

    #[test]
    fn failures_are_told_apart() {
        let c = |code, err| classify(Some(code), err, "/x");
        assert!(c(255, "ssh: connect to host h port 22: Connection refused")
            .starts_with("unreachable: ssh: connect to host h port 22: Connection refused"));
        assert!(c(255, "root@h: Permission denied (publickey).").starts_with("key refused"));
        assert!(c(255, "ssh: Could not resolve hostname nope").starts_with("unknown host"));
        assert!(c(92, "no executable file at /x").starts_with("no collbench binary at /x"));
        assert!(c(127, "sh: 1: /x: not found").starts_with("no collbench binary"));
        assert!(c(1, "collbench: error: boom").contains("status 1: collbench: error: boom"));
        assert_eq!(host_name("alice@h1"), "h1");
        assert_eq!(host_name("h2"), "h2");
    }
}
