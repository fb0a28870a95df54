"""Delivery channels for Benelert alerts (SMS, cell broadcast, social media, CAP)."""
