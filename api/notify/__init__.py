"""Notifications: webhooks (HMAC-signed JSON) and MQTT, delivered on a worker thread with retries."""
