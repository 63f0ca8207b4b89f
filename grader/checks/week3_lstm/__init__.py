"""Hidden checks for week 3 (LSTM for time series)."""
