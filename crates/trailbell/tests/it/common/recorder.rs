//! A real HTTP server on 127.0.0.1 (axum, port 0, its own thread and runtime) that records every
//! request and answers from a script: a status with headers and body, a slow answer, or none at
//! all. Tests wait for "N requests recorded" with [`Recorder::wait_for`], never by sleeping.

#![allow(dead_code)]

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use tokio::sync::watch;

/// How the server answers one request.
#[derive(Clone, Debug)]
pub enum Reply {
    /// This status, headers and body.
    Answer {
        status: u16,
        headers: Vec<(String, String)>,
        body: String,
    },
    /// Waits this long, then answers.
    Slow(Duration, Box<Reply>),
    /// Never answers.
    Hang,
    /// Holds the answer until `count` requests in all have arrived (this one included), then
    /// answers `then`; `otherwise` if that has not happened within `within`. Shows whether a
    /// client has several requests in flight at once.
    Gather {
        count: usize,
        within: Duration,
        then: Box<Reply>,
        otherwise: Box<Reply>,
    },
}

impl Reply {
    pub fn status(status: u16, body: &str) -> Reply {
        Reply::Answer {
            status,
            headers: Vec::new(),
            body: body.to_owned(),
        }
    }

    pub fn ok() -> Reply {
        Reply::status(200, "ok")
    }

    pub fn header(self, name: &str, value: &str) -> Reply {
        match self {
            Reply::Answer {
                status,
                mut headers,
                body,
            } => {
                headers.push((name.to_owned(), value.to_owned()));
                Reply::Answer {
                    status,
                    headers,
                    body,
                }
            }
            other => other,
        }
    }
}

/// One request as the server saw it.
#[derive(Clone, Debug)]
pub struct Recorded {
    pub at: Instant,
    pub method: String,
    pub path: String,
    pub headers: Vec<(String, String)>,
    pub body: String,
}

impl Recorded {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(key, _)| key.eq_ignore_ascii_case(name))
            .map(|(_, value)| value.as_str())
    }

    pub fn json(&self) -> serde_json::Value {
        serde_json::from_str(&self.body).expect("the request body is JSON")
    }
}

struct Shared {
    script: Mutex<VecDeque<Reply>>,
    default: Reply,
    requests: Mutex<Vec<Recorded>>,
    count: watch::Sender<usize>,
}

/// The running server.
pub struct Recorder {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl Recorder {
    /// Starts a server answering with `script` in order, then `default` for every later request.
    pub fn start(script: Vec<Reply>, default: Reply) -> Recorder {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
        listener
            .set_nonblocking(true)
            .expect("nonblocking listener");
        let addr = listener.local_addr().expect("the listener's address");
        let (count, _) = watch::channel(0);
        let shared = Arc::new(Shared {
            script: Mutex::new(script.into()),
            default,
            requests: Mutex::new(Vec::new()),
            count,
        });
        let state = Arc::clone(&shared);
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime for the recorder");
            runtime.block_on(async move {
                let listener =
                    tokio::net::TcpListener::from_std(listener).expect("a tokio listener");
                let app = axum::Router::new().fallback(handle).with_state(state);
                axum::serve(listener, app)
                    .await
                    .expect("the recorder serves");
            });
        });
        Recorder { addr, shared }
    }

    /// Always answers `reply`.
    pub fn always(reply: Reply) -> Recorder {
        Recorder::start(Vec::new(), reply)
    }

    /// `http://127.0.0.1:PORT{path}`.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{path}", self.addr)
    }

    /// Every request so far.
    pub fn requests(&self) -> Vec<Recorded> {
        self.shared.requests.lock().expect("requests lock").clone()
    }

    /// Waits until at least `n` requests were recorded (30 s at most, then panics) and returns
    /// them all.
    pub async fn wait_for(&self, n: usize) -> Vec<Recorded> {
        let mut count = self.shared.count.subscribe();
        tokio::time::timeout(Duration::from_secs(30), count.wait_for(|count| *count >= n))
            .await
            .unwrap_or_else(|_| {
                panic!(
                    "{n} requests expected within 30 s, got {}",
                    self.requests().len()
                )
            })
            .expect("the recorder is alive");
        self.requests()
    }
}

async fn handle(
    State(shared): State<Arc<Shared>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let recorded = Recorded {
        at: Instant::now(),
        method: method.to_string(),
        path: uri.path().to_owned(),
        headers: headers
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    String::from_utf8_lossy(value.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: String::from_utf8_lossy(&body).into_owned(),
    };
    let reply = {
        let mut script = shared.script.lock().expect("script lock");
        script.pop_front().unwrap_or_else(|| shared.default.clone())
    };
    {
        let mut requests = shared.requests.lock().expect("requests lock");
        requests.push(recorded);
        let n = requests.len();
        shared.count.send_replace(n);
    }
    answer(reply, &shared).await
}

async fn answer(mut reply: Reply, shared: &Shared) -> Response {
    loop {
        match reply {
            Reply::Gather {
                count,
                within,
                then,
                otherwise,
            } => {
                let mut seen = shared.count.subscribe();
                let gathered = tokio::time::timeout(within, seen.wait_for(|n| *n >= count)).await;
                reply = if matches!(gathered, Ok(Ok(_))) {
                    *then
                } else {
                    *otherwise
                };
            }
            Reply::Answer {
                status,
                headers,
                body,
            } => {
                let mut response =
                    (StatusCode::from_u16(status).expect("a valid status"), body).into_response();
                for (name, value) in headers {
                    response.headers_mut().insert(
                        axum::http::HeaderName::from_bytes(name.as_bytes()).expect("header name"),
                        value.parse().expect("header value"),
                    );
                }
                return response;
            }
            Reply::Slow(delay, then) => {
                tokio::time::sleep(delay).await;
                reply = *then;
            }
            Reply::Hang => std::future::pending::<()>().await,
        }
    }
}
