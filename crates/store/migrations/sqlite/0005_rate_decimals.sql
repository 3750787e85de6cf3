-- Exchange rates keep ten decimals (they had kept four, as money does): a stored rate is
-- now a count of ten-billionths. The data version moves, so that caches derived from the
-- store (the scorecard's snapshot) are built again.
UPDATE currency_rates SET rate = rate * 1000000;
UPDATE store_meta SET version = version + 1;
