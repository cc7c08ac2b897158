//! Diagnostics on stderr through tracing, formatted as `warning: message` like compilers do.

use std::fmt;

use tracing::{Event, Level, Subscriber};
use tracing_subscriber::filter::{filter_fn, FilterExt};
use tracing_subscriber::fmt::format::{FormatEvent, FormatFields, Writer};
use tracing_subscriber::fmt::FmtContext;
use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::registry::LookupSpan;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::Layer;

use super::env::Env;

pub fn init(verbose: u8, quiet: bool, env: &Env) {
    let level = match (quiet, verbose) {
        (true, _) => "error",
        (false, 0) => "warn",
        (false, 1) => "debug",
        (false, _) => "trace",
    };
    // An unset or unparsable RUST_LOG leaves the level to -v and -q.
    let filter = env
        .rust_log
        .as_deref()
        .and_then(|v| tracing_subscriber::EnvFilter::builder().parse(v).ok())
        .unwrap_or_else(|| tracing_subscriber::EnvFilter::new(format!("shockwave={level}")));
    // The HTTP client's own events are dropped whatever RUST_LOG says: at trace level ureq dumps
    // every request in hex, the `Authorization: Bearer` header included. What the remote cache
    // does is logged by our own events, which never carry the token or the signature key.
    let secret_safe = filter_fn(|meta| !is_http_stack(meta.target()));
    let layer = tracing_subscriber::fmt::layer()
        .with_writer(std::io::stderr)
        .event_format(Plain {
            color: env.stderr.color,
        })
        .with_filter(filter.and(secret_safe));
    let _ = tracing_subscriber::registry().with(layer).try_init();
}

/// Crates that see the bytes of HTTP requests (headers included) and log them.
const HTTP_STACK: &[&str] = &["ureq", "ureq_proto", "rustls", "webpki", "http", "httparse"];

/// Whether `target` is a module of one of the [`HTTP_STACK`] crates.
fn is_http_stack(target: &str) -> bool {
    let krate = target.split("::").next().unwrap_or(target);
    HTTP_STACK.contains(&krate)
}

struct Plain {
    color: bool,
}

impl<S, N> FormatEvent<S, N> for Plain
where
    S: Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &Event<'_>,
    ) -> fmt::Result {
        let (label, code) = match *event.metadata().level() {
            Level::ERROR => ("error", "31"),
            Level::WARN => ("warning", "33"),
            Level::INFO => ("info", "36"),
            Level::DEBUG => ("debug", "2"),
            Level::TRACE => ("trace", "2"),
        };
        if self.color {
            write!(writer, "\x1b[{code}m{label}\x1b[0m: ")?;
        } else {
            write!(writer, "{label}: ")?;
        }
        ctx.field_format().format_fields(writer.by_ref(), event)?;
        writeln!(writer)
    }
}

#[cfg(test)]
mod tests {
    use super::is_http_stack;

    #[test]
    fn the_http_stack_is_recognised_by_crate() {
        for t in [
            "ureq",
            "ureq::unversioned::transport",
            "ureq_proto::client",
            "rustls::conn",
        ] {
            assert!(is_http_stack(t), "{t}");
        }
        for t in ["shockwave", "shockwave::cache::remote", "ureqx", "gix"] {
            assert!(!is_http_stack(t), "{t}");
        }
    }
}
