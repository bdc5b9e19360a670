//! A server of a test's own (redis-server, cosmosdb-server, an Azurite service) on a fixed
//! loopback port, for the fault tests: they stop it, pause it (SIGSTOP: a hung server) and
//! start it again on the same port, while the shared emulators keep serving every other test.

use std::process::{Child, Command};
use std::time::{Duration, Instant};

pub struct OwnServer {
    pub port: u16,
    name: &'static str,
    /// The command that runs the server on the port it is given.
    command: Box<dyn Fn(u16) -> Command + Send + Sync>,
    child: Option<Child>,
}

impl OwnServer {
    /// Starts `name` on a free port and waits until it accepts connections.
    pub fn start(
        name: &'static str,
        command: impl Fn(u16) -> Command + Send + Sync + 'static,
    ) -> Self {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let mut server = OwnServer {
            port,
            name,
            command: Box::new(command),
            child: None,
        };
        server.restart();
        server
    }

    /// Starts it again on its port and waits until it accepts connections.
    pub fn restart(&mut self) {
        let child = (self.command)(self.port)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .unwrap_or_else(|e| panic!("{} runs: {e}", self.name));
        self.child = Some(child);
        let deadline = Instant::now() + Duration::from_secs(20);
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err() {
            assert!(Instant::now() < deadline, "{} did not start", self.name);
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Sends `signal` (`-STOP`, `-CONT`) to the running server.
    pub fn signal(&self, signal: &str) {
        let pid = self.child.as_ref().expect("running").id().to_string();
        let status = Command::new("kill").args([signal, &pid]).status().unwrap();
        assert!(status.success());
    }

    /// A clean stop (SIGTERM), as a service being stopped gets, so one that keeps data on
    /// disk (Azurite with a folder) saves it; killed if it has not exited within 10 s.
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = Command::new("kill")
                .args(["-TERM", &child.id().to_string()])
                .status();
            let deadline = Instant::now() + Duration::from_secs(10);
            while child.try_wait().ok().flatten().is_none() && Instant::now() < deadline {
                std::thread::sleep(Duration::from_millis(20));
            }
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for OwnServer {
    fn drop(&mut self) {
        if self.child.is_some() {
            self.signal("-CONT");
        }
        self.stop();
    }
}
