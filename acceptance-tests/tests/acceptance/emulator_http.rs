//! Raw HTTP for the emulator's own tests (`emulator_*`): one request and its answer, the body
//! read as JSON.

use std::time::Duration;

use reqwest::RequestBuilder;
use reqwest::header::HeaderMap;
use serde_json::Value;

/// An answer: status, headers, and the body as JSON (`Null` when empty).
pub struct Reply {
    pub status: u16,
    pub headers: HeaderMap,
    pub body: Value,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }

    /// `error.code` of an ARM or Graph error envelope (empty when there is none).
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or_default()
    }

    /// `error.message` of an ARM or Graph error envelope (empty when there is none).
    pub fn message(&self) -> &str {
        self.body["error"]["message"].as_str().unwrap_or_default()
    }

    /// The wait `Retry-After` asks for (seconds, possibly fractional).
    pub fn retry_after(&self) -> Option<Duration> {
        self.header("retry-after")
            .and_then(|v| v.trim().parse::<f64>().ok())
            .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
    }
}

/// Sends `request`; a body that is not JSON fails the test.
pub async fn send(request: RequestBuilder) -> Reply {
    read(request, |text| {
        serde_json::from_str(&text).expect("JSON body")
    })
    .await
}

/// [`send`], keeping a body that is not JSON as a string (for the token endpoint's and the
/// hosts' plain-text answers).
pub async fn send_lenient(request: RequestBuilder) -> Reply {
    read(request, |text| {
        serde_json::from_str(&text).unwrap_or(Value::String(text))
    })
    .await
}

async fn read(request: RequestBuilder, parse: impl FnOnce(String) -> Value) -> Reply {
    let response = request.send().await.expect("request");
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let text = response.text().await.expect("body");
    let body = if text.is_empty() {
        Value::Null
    } else {
        parse(text)
    };
    Reply {
        status,
        headers,
        body,
    }
}
