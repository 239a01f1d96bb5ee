//! What may be done to an order, decided without IO: address changes and cancellations only
//! before shipping; returns within 7 days of delivery and up to an amount (above it a person
//! decides); price adjustments within 7 days of the purchase.

use crate::orders::{Day, Order, OrderStatus};

pub const RETURN_DAYS: i64 = 7;
pub const PRICE_ADJUST_DAYS: i64 = 7;
/// Returns worth more than this go to a person.
pub const RETURN_AMOUNT_LIMIT: f64 = 1000.0;

#[derive(Debug, Clone, PartialEq)]
pub enum Verdict {
    Allowed,
    /// Not allowed, and why (a code for events and the reply).
    Refused(Refusal),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    AlreadyShipped,
    AlreadyClosed,
    NotDelivered,
    ReturnWindowOver,
    AmountOverLimit,
}

impl Refusal {
    pub fn code(&self) -> &'static str {
        match self {
            Refusal::AlreadyShipped => "already_shipped",
            Refusal::AlreadyClosed => "already_closed",
            Refusal::NotDelivered => "not_delivered",
            Refusal::ReturnWindowOver => "return_window_over",
            Refusal::AmountOverLimit => "amount_over_limit",
        }
    }
}

fn closed(o: &Order) -> bool {
    matches!(o.status, OrderStatus::Cancelled | OrderStatus::Returned)
}

pub fn change_address(o: &Order) -> Verdict {
    match o.status {
        OrderStatus::Processing => Verdict::Allowed,
        _ if closed(o) => Verdict::Refused(Refusal::AlreadyClosed),
        _ => Verdict::Refused(Refusal::AlreadyShipped),
    }
}

pub fn cancel(o: &Order) -> Verdict {
    change_address(o)
}

pub fn start_return(o: &Order, today: Day) -> Verdict {
    if closed(o) {
        return Verdict::Refused(Refusal::AlreadyClosed);
    }
    let Some(delivered) = o.delivered_on.as_deref().and_then(Day::parse).filter(|_| o.status == OrderStatus::Delivered) else {
        return Verdict::Refused(Refusal::NotDelivered);
    };
    if delivered.days_until(today) > RETURN_DAYS {
        return Verdict::Refused(Refusal::ReturnWindowOver);
    }
    if o.amount > RETURN_AMOUNT_LIMIT {
        return Verdict::Refused(Refusal::AmountOverLimit);
    }
    Verdict::Allowed
}

pub fn price_adjustment(o: &Order, today: Day) -> Verdict {
    match Day::parse(&o.placed_on) {
        Some(p) if p.days_until(today) <= PRICE_ADJUST_DAYS && !closed(o) => Verdict::Allowed,
        _ if closed(o) => Verdict::Refused(Refusal::AlreadyClosed),
        _ => Verdict::Refused(Refusal::ReturnWindowOver),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn order(status: OrderStatus, delivered_days_ago: Option<i64>, amount: f64) -> Order {
        let today = Day::parse("2026-11-21").unwrap();
        Order {
            id: "1".into(),
            items: "x".into(),
            amount,
            currency: "USD".into(),
            status,
            placed_on: today.plus(-10).iso(),
            shipped_on: None,
            delivered_on: delivered_days_ago.map(|d| today.plus(-d).iso()),
            eta: None,
            carrier: None,
            tracking: None,
            address: "a".into(),
            refund_status: None,
        }
    }

    #[test]
    fn changes_only_before_shipping_and_returns_within_the_window_and_limit() {
        let today = Day::parse("2026-11-21").unwrap();
        assert_eq!(change_address(&order(OrderStatus::Processing, None, 10.0)), Verdict::Allowed);
        assert_eq!(cancel(&order(OrderStatus::Shipped, None, 10.0)), Verdict::Refused(Refusal::AlreadyShipped));
        assert_eq!(start_return(&order(OrderStatus::Delivered, Some(3), 10.0), today), Verdict::Allowed);
        assert_eq!(start_return(&order(OrderStatus::Delivered, Some(7), 10.0), today), Verdict::Allowed);
        assert_eq!(start_return(&order(OrderStatus::Delivered, Some(8), 10.0), today), Verdict::Refused(Refusal::ReturnWindowOver));
        assert_eq!(start_return(&order(OrderStatus::Delivered, Some(1), 2500.0), today), Verdict::Refused(Refusal::AmountOverLimit));
        assert_eq!(start_return(&order(OrderStatus::Shipped, None, 10.0), today), Verdict::Refused(Refusal::NotDelivered));
        assert_eq!(start_return(&order(OrderStatus::Returned, Some(2), 10.0), today), Verdict::Refused(Refusal::AlreadyClosed));
    }
}
