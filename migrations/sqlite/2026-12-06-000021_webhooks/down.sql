DROP TABLE webhook_attempts;
DROP TABLE webhook_deliveries;
DROP TABLE webhook_subscription_events;
DROP TABLE webhook_subscriptions;
