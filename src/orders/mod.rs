//! The shop's orders, behind `OrderService`: the embedded SQLite demo store (the default) or a
//! shop's own order API over HTTP. The rules about what may be done to an order live in
//! `rules`, apart from both.

pub mod date;
pub mod http;
pub mod rules;
pub mod sqlite;

use serde::{Deserialize, Serialize};

pub use date::Day;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum OrderStatus {
    Processing,
    Shipped,
    Delivered,
    Cancelled,
    Returned,
}

impl OrderStatus {
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s.trim().to_ascii_lowercase().as_str() {
            "processing" | "placed" | "paid" | "pending" => Self::Processing,
            "shipped" | "in_transit" | "in transit" => Self::Shipped,
            "delivered" => Self::Delivered,
            "cancelled" | "canceled" => Self::Cancelled,
            "returned" | "refunded" => Self::Returned,
            _ => return None,
        })
    }

    pub fn as_str(&self) -> &'static str {
        match self {
            Self::Processing => "processing",
            Self::Shipped => "shipped",
            Self::Delivered => "delivered",
            Self::Cancelled => "cancelled",
            Self::Returned => "returned",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Order {
    pub id: String,
    pub items: String,
    pub amount: f64,
    pub currency: String,
    pub status: OrderStatus,
    pub placed_on: String,
    pub shipped_on: Option<String>,
    pub delivered_on: Option<String>,
    pub eta: Option<String>,
    pub carrier: Option<String>,
    pub tracking: Option<String>,
    pub address: String,
    pub refund_status: Option<String>,
}

/// Why the order system could not answer.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum OrderError {
    #[error("order {0} not found")]
    NotFound(String),
    #[error("order system unavailable: {0}")]
    Unavailable(String),
    #[error("order system answered something unreadable: {0}")]
    BadResponse(String),
}

impl OrderError {
    /// A short code for events.
    pub fn code(&self) -> &'static str {
        match self {
            OrderError::NotFound(_) => "not_found",
            OrderError::Unavailable(_) => "unavailable",
            OrderError::BadResponse(_) => "bad_response",
        }
    }
}

pub type OrderResult<T> = std::result::Result<T, OrderError>;

/// The shop's order system. Calls block (a local database, or an HTTP request with a timeout).
pub trait OrderService: Send + Sync {
    fn order(&self, id: &str) -> OrderResult<Order>;
    fn change_address(&self, id: &str, address: &str) -> OrderResult<Order>;
    fn cancel(&self, id: &str) -> OrderResult<Order>;
    /// Starts a return; the refund follows when the parcel is back.
    fn start_return(&self, id: &str) -> OrderResult<Order>;
    fn request_invoice(&self, id: &str) -> OrderResult<()>;
    /// What it is, for /health.
    fn describe(&self) -> String;
}

/// The order system seen by a replay that only listens (QA): reads go through, changes are
/// answered as if made but never written.
pub struct DryRun(pub std::sync::Arc<dyn OrderService>);

impl OrderService for DryRun {
    fn order(&self, id: &str) -> OrderResult<Order> {
        self.0.order(id)
    }

    fn change_address(&self, id: &str, address: &str) -> OrderResult<Order> {
        self.0.order(id).map(|o| Order { address: address.to_string(), ..o })
    }

    fn cancel(&self, id: &str) -> OrderResult<Order> {
        self.0.order(id).map(|o| Order { status: OrderStatus::Cancelled, ..o })
    }

    fn start_return(&self, id: &str) -> OrderResult<Order> {
        self.0.order(id).map(|o| Order { refund_status: Some("return started (dry run)".into()), ..o })
    }

    fn request_invoice(&self, id: &str) -> OrderResult<()> {
        self.0.order(id).map(|_| ())
    }

    fn describe(&self) -> String {
        format!("dry run of {}", self.0.describe())
    }
}
