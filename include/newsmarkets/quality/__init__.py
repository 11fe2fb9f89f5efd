"""Data quality: Great Expectations suites per table and the gate that publishes or quarantines a batch."""
