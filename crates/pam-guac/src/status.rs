//! Guacamole status codes (`protocol-types.h`, `Status.js`) with messages a person understands.

/// A Guacamole status code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Status(pub u32);

impl Status {
    pub const SUCCESS: Status = Status(0x0000);
    pub const UNSUPPORTED: Status = Status(0x0100);
    pub const SERVER_ERROR: Status = Status(0x0200);
    pub const SERVER_BUSY: Status = Status(0x0201);
    pub const UPSTREAM_TIMEOUT: Status = Status(0x0202);
    pub const UPSTREAM_ERROR: Status = Status(0x0203);
    pub const RESOURCE_NOT_FOUND: Status = Status(0x0204);
    pub const RESOURCE_CONFLICT: Status = Status(0x0205);
    pub const RESOURCE_CLOSED: Status = Status(0x0206);
    pub const UPSTREAM_NOT_FOUND: Status = Status(0x0207);
    pub const UPSTREAM_UNAVAILABLE: Status = Status(0x0208);
    pub const SESSION_CONFLICT: Status = Status(0x0209);
    pub const SESSION_TIMEOUT: Status = Status(0x020A);
    pub const SESSION_CLOSED: Status = Status(0x020B);
    pub const CLIENT_BAD_REQUEST: Status = Status(0x0300);
    pub const CLIENT_UNAUTHORIZED: Status = Status(0x0301);
    pub const CLIENT_FORBIDDEN: Status = Status(0x0303);
    pub const CLIENT_TIMEOUT: Status = Status(0x0308);
    pub const CLIENT_OVERRUN: Status = Status(0x030D);
    pub const CLIENT_BAD_TYPE: Status = Status(0x030F);
    pub const CLIENT_TOO_MANY: Status = Status(0x031D);

    /// Parses the decimal code of an `error`/`ack` instruction.
    pub fn parse(s: &str) -> Option<Status> {
        s.trim().parse::<u32>().ok().map(Status)
    }

    /// `isError()`: a code above 0xFF.
    pub fn is_error(self) -> bool {
        self.0 > 0xFF
    }

    /// The symbolic name, e.g. `UPSTREAM_TIMEOUT`.
    pub fn name(self) -> &'static str {
        match self.0 {
            0x0000 => "SUCCESS",
            0x0100 => "UNSUPPORTED",
            0x0200 => "SERVER_ERROR",
            0x0201 => "SERVER_BUSY",
            0x0202 => "UPSTREAM_TIMEOUT",
            0x0203 => "UPSTREAM_ERROR",
            0x0204 => "RESOURCE_NOT_FOUND",
            0x0205 => "RESOURCE_CONFLICT",
            0x0206 => "RESOURCE_CLOSED",
            0x0207 => "UPSTREAM_NOT_FOUND",
            0x0208 => "UPSTREAM_UNAVAILABLE",
            0x0209 => "SESSION_CONFLICT",
            0x020A => "SESSION_TIMEOUT",
            0x020B => "SESSION_CLOSED",
            0x0300 => "CLIENT_BAD_REQUEST",
            0x0301 => "CLIENT_UNAUTHORIZED",
            0x0303 => "CLIENT_FORBIDDEN",
            0x0308 => "CLIENT_TIMEOUT",
            0x030D => "CLIENT_OVERRUN",
            0x030F => "CLIENT_BAD_TYPE",
            0x031D => "CLIENT_TOO_MANY",
            _ => "UNKNOWN",
        }
    }

    /// What the status means for the person at the keyboard.
    pub fn message(self) -> &'static str {
        match self.0 {
            0x0000 => "The operation succeeded.",
            0x0100 => "The remote desktop server does not support this operation.",
            0x0200 => "The remote desktop server hit an internal error. Try again; if it persists, contact your administrator.",
            0x0201 => "The remote desktop server is busy. Try again in a few moments.",
            0x0202 => "The remote host did not respond in time. Check that it is running and reachable from the gateway.",
            0x0203 => "The remote host reported an error or refused the connection.",
            0x0204 => "The requested resource does not exist.",
            0x0205 => "The requested resource is already in use.",
            0x0206 => "The requested resource has been closed.",
            0x0207 => "The remote host could not be found. Check the host name on the PAM resource.",
            0x0208 => "The remote host is unavailable: it refused the connection or is not accepting sessions.",
            0x0209 => "The session ended because it conflicts with another session (for example the same user signed in elsewhere).",
            0x020A => "The session ended after a period of inactivity.",
            0x020B => "The session was closed by the remote host or an administrator.",
            0x0300 => "The connection request was rejected as invalid.",
            0x0301 => "Sign-in to the remote host failed: the credentials were rejected.",
            0x0303 => "You are not allowed to access this remote host.",
            0x0308 => "The browser stopped responding in time and the session was closed.",
            0x030D => "The browser sent more data than the server accepts.",
            0x030F => "The browser sent or asked for a data type the server does not support.",
            0x031D => "There are too many active sessions. Close one and try again.",
            c if (0x0100..0x0200).contains(&c) => "The remote desktop server does not support this operation.",
            c if (0x0200..0x0300).contains(&c) => "The remote desktop server or the remote host reported an error.",
            c if (0x0300..0x0400).contains(&c) => "The remote desktop server rejected a request from the browser.",
            _ => "The session ended with an unknown status.",
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn error_classes() {
        assert!(!Status::SUCCESS.is_error());
        assert!(Status::UPSTREAM_TIMEOUT.is_error());
        assert_eq!(Status::parse("520"), Some(Status::UPSTREAM_UNAVAILABLE));
        assert_eq!(Status(0x0208).name(), "UPSTREAM_UNAVAILABLE");
        assert!(Status(0x02FF).message().contains("error"));
    }
}
