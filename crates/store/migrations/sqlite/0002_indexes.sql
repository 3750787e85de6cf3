-- Indexes for the reads every scorecard and drill-down does.
CREATE INDEX opportunities_owner ON opportunities (owner_id);
CREATE INDEX opportunities_close ON opportunities (close_on);
CREATE INDEX activities_owner ON activities (owner_id, at);
CREATE INDEX leads_owner ON leads (owner_id, created_at);
