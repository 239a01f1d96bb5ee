//! The embedded demo store: orders in the gateway's SQLite database, seeded on first use with
//! demo orders whose dates are relative to the day they were created.

use std::sync::Arc;

use rusqlite::{params, OptionalExtension, Row};

use crate::orders::{Day, Order, OrderError, OrderResult, OrderService, OrderStatus};
use crate::store::Store;

pub struct SqliteOrders {
    store: Arc<Store>,
}

fn unavailable(e: rusqlite::Error) -> OrderError {
    OrderError::Unavailable(e.to_string())
}

fn row_to_order(r: &Row) -> rusqlite::Result<Order> {
    let status: String = r.get("status")?;
    Ok(Order {
        id: r.get("id")?,
        items: r.get("items")?,
        amount: r.get("amount")?,
        currency: r.get("currency")?,
        status: OrderStatus::parse(&status).unwrap_or(OrderStatus::Processing),
        placed_on: r.get("placed_on")?,
        shipped_on: r.get("shipped_on")?,
        delivered_on: r.get("delivered_on")?,
        eta: r.get("eta")?,
        carrier: r.get("carrier")?,
        tracking: r.get("tracking")?,
        address: r.get("address")?,
        refund_status: r.get("refund_status")?,
    })
}

/// The demo orders: (id, items, amount, status, placed days ago, shipped, delivered, eta in
/// days, carrier, tracking, address, refund status).
type Demo = (&'static str, &'static str, f64, &'static str, i64, Option<i64>, Option<i64>, Option<i64>, Option<&'static str>, Option<&'static str>, &'static str, Option<&'static str>);
const DEMO: &[Demo] = &[
    ("48152", "Air Jordan 1, size 42", 129.0, "shipped", 4, Some(1), None, Some(2), Some("SF Express"), Some("SF1234567890"), "12 Park Street, Springfield", None),
    ("10001", "AirPods Pro", 249.0, "processing", 1, None, None, Some(4), None, None, "8 Lake Road, Springfield", None),
    ("20002", "Nintendo Switch OLED", 349.0, "delivered", 6, Some(4), Some(2), None, Some("UPS"), Some("1Z999AA10123456784"), "3 Hill Avenue, Shelbyville", None),
    ("30003", "running shoes", 89.0, "delivered", 30, Some(28), Some(25), None, Some("DHL"), Some("JD014600006281"), "21 Elm Street, Springfield", None),
    ("40004", "iPhone 15 case", 29.0, "returned", 20, Some(18), Some(16), None, Some("SF Express"), Some("SF9876543210"), "5 River Lane, Capital City", Some("refund of 29.00 USD approved, paid back within 3 business days")),
    ("55555", "iPhone 15", 1299.0, "delivered", 5, Some(3), Some(1), None, Some("SF Express"), Some("SF5555555555"), "77 Ocean Drive, Springfield", None),
    ("66666", "Air Jordan 1, size 40", 119.0, "processing", 0, None, None, Some(5), None, None, "上海市浦东新区世纪大道100号", None),
];

impl SqliteOrders {
    /// The store's orders, seeding the demo ones into an empty table.
    pub fn open(store: Arc<Store>) -> crate::error::Result<Self> {
        let s = Self { store };
        s.seed(Day::today()).map_err(|e| crate::error::Error::Config(format!("store {}: {e}", s.store.path.display())))?;
        Ok(s)
    }

    fn seed(&self, today: Day) -> rusqlite::Result<()> {
        let conn = self.store.conn();
        let n: i64 = conn.query_row("SELECT count(*) FROM orders", [], |r| r.get(0))?;
        if n > 0 {
            return Ok(());
        }
        let day = |ago: Option<i64>| ago.map(|a| today.plus(-a).iso());
        for d in DEMO {
            conn.execute(
                "INSERT INTO orders (id, items, amount, currency, status, placed_on, shipped_on, delivered_on, eta, carrier, tracking, address, refund_status)
                 VALUES (?1, ?2, ?3, 'USD', ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)",
                params![d.0, d.1, d.2, d.3, today.plus(-d.4).iso(), day(d.5), day(d.6), d.7.map(|e| today.plus(e).iso()), d.8, d.9, d.10, d.11],
            )?;
        }
        Ok(())
    }

    fn update(&self, id: &str, sql: &str, value: &str) -> OrderResult<Order> {
        self.order(id)?;
        self.store.conn().execute(sql, params![value, id]).map_err(unavailable)?;
        self.order(id)
    }
}

impl OrderService for SqliteOrders {
    fn order(&self, id: &str) -> OrderResult<Order> {
        self.store
            .conn()
            .query_row("SELECT * FROM orders WHERE id = ?1", [id], row_to_order)
            .optional()
            .map_err(unavailable)?
            .ok_or_else(|| OrderError::NotFound(id.to_string()))
    }

    fn change_address(&self, id: &str, address: &str) -> OrderResult<Order> {
        self.update(id, "UPDATE orders SET address = ?1, updated_at = datetime('now') WHERE id = ?2", address)
    }

    fn cancel(&self, id: &str) -> OrderResult<Order> {
        self.update(id, "UPDATE orders SET status = ?1, updated_at = datetime('now') WHERE id = ?2", "cancelled")
    }

    fn start_return(&self, id: &str) -> OrderResult<Order> {
        self.update(
            id,
            "UPDATE orders SET refund_status = ?1, updated_at = datetime('now') WHERE id = ?2",
            "return started: refund when the parcel is back",
        )
    }

    fn request_invoice(&self, id: &str) -> OrderResult<()> {
        self.update(id, "UPDATE orders SET invoice_requested = CAST(?1 AS INTEGER), updated_at = datetime('now') WHERE id = ?2", "1")
            .map(|_| ())
    }

    fn describe(&self) -> String {
        format!("sqlite {}", self.store.path.display())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn demo_orders_are_seeded_once_and_changes_persist() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("t.sqlite");
        let orders = SqliteOrders::open(Arc::new(Store::open(&path).unwrap())).unwrap();
        assert_eq!(orders.order("48152").unwrap().status, OrderStatus::Shipped);
        assert_eq!(orders.order("99999"), Err(OrderError::NotFound("99999".into())));
        orders.change_address("10001", "1 New Street").unwrap();
        drop(orders);
        let again = SqliteOrders::open(Arc::new(Store::open(&path).unwrap())).unwrap();
        assert_eq!(again.order("10001").unwrap().address, "1 New Street");
        let n: i64 = again.store.conn().query_row("SELECT count(*) FROM orders", [], |r| r.get(0)).unwrap();
        assert_eq!(n as usize, DEMO.len());
    }
}
