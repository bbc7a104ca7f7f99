-- The MELA report's events name the LoadMaster's SKU beside its license ("Activation -
-- License: VLM-5000, LM SKU: VLM-SPLA"): recorded with each activation and deactivation from
-- then on (earlier records name the license alone).
ALTER TABLE metered_instance_events ADD COLUMN sku TEXT;
