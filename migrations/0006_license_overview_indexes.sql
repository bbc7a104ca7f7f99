-- Issue 6: the License overview and the pool summary at 100k+ licenses.
-- Every sortable column of the overview has an index in the overview's order within a tenant,
-- ties on id, so a page is read in index order instead of sorting the pool
-- (store::licenses::list names them). They replace the (tenant_id, column) indexes.
DROP INDEX licenses_tenant_device_name;
DROP INDEX licenses_tenant_bandwidth;
DROP INDEX licenses_tenant_activated;
DROP INDEX licenses_tenant_ip;
DROP INDEX licenses_tenant_serial;
CREATE INDEX licenses_tenant_device_name_id ON licenses (tenant_id, device_name, id);
CREATE INDEX licenses_tenant_ip_id ON licenses (tenant_id, ip_address, id);
CREATE INDEX licenses_tenant_serial_id ON licenses (tenant_id, serial_no, id);
CREATE INDEX licenses_tenant_license_name_id ON licenses (tenant_id, license_name, id);
CREATE INDEX licenses_tenant_bandwidth_id ON licenses (tenant_id, bandwidth_mbps, id);
CREATE INDEX licenses_tenant_ssl_tps_id ON licenses (tenant_id, ssl_tps, id);
CREATE INDEX licenses_tenant_grace_end_id ON licenses (tenant_id, grace_period_end, id);
CREATE INDEX licenses_tenant_activated_id ON licenses (tenant_id, activated_at, id);
CREATE INDEX licenses_tenant_recovered_id ON licenses (tenant_id, recovered_at, id);
-- The pool summary (allocation per license type of the Active and Grace Period licenses)
-- and the status counts read this index alone, never the table.
CREATE INDEX licenses_tenant_holding ON licenses (tenant_id, status, license_name, bandwidth_mbps);
