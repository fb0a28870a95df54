"""Local fakes of the providers' HTTP APIs (Twilio, X, Mastodon), served on 127.0.0.1 only."""
