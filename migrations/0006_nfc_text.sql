-- 0006_nfc_text: Vietnamese text in Unicode NFC, as every entry point now normalises it.
--
-- Text typed in decomposed form (NFD: "u" + combining tilde) looks like its precomposed form
-- (NFC: "ũ") but does not compare equal, so a đề án registered with NFD text was not found by
-- `de-an list --district "Yên Dũng"`. New input is normalised to NFC (domain.text.Text); this
-- normalises what the read model and the officials register already hold. The event log
-- (de_an_event) is append-only and keeps what was recorded.
-- normalize() needs PostgreSQL 13 and a UTF8 database (the project's databases are UTF8).

UPDATE de_an SET
    title            = normalize(title, NFC),
    province         = normalize(province, NFC),
    district         = normalize(district, NFC),
    commune          = normalize(commune, NFC),
    support_item     = normalize(support_item, NFC),
    beneficiary_name = normalize(beneficiary_name, NFC)
WHERE title IS NOT NFC NORMALIZED
   OR province IS NOT NFC NORMALIZED
   OR district IS NOT NFC NORMALIZED
   OR commune IS NOT NFC NORMALIZED
   OR support_item IS NOT NFC NORMALIZED
   OR beneficiary_name IS NOT NFC NORMALIZED;

UPDATE officials SET
    full_name    = normalize(full_name, NFC),
    organisation = normalize(organisation, NFC),
    province     = normalize(province, NFC)
WHERE full_name IS NOT NFC NORMALIZED
   OR organisation IS NOT NFC NORMALIZED
   OR province IS NOT NFC NORMALIZED;

UPDATE plan SET province = normalize(province, NFC) WHERE province IS NOT NFC NORMALIZED;
