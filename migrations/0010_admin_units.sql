-- Places and the calendar as data with effective dates (issue 13).
--
-- admin_unit: administrative units (province, district, commune) with their validity and
-- successor, loaded from a file (``khuyencong units load FILE``) beside the units that ship
-- with the code (domain/data/admin_units.json). Reports group đề án by the unit as it was or
-- as it is now with them (``khuyencong plan report --units then|now``). The workflows judge
-- jurisdiction by the shipped units only (data versioned with the worker's code).
--
-- calendar_day: a year's official decision on days off and the weekend days worked in
-- exchange (``khuyencong calendar add-days-off YEAR FILE``), added to the statutory holidays
-- that ship with the code (domain/data/holidays_vn.json).
--
-- Written by one module each (db/places.py); loading the same file twice adds nothing.

CREATE TABLE admin_unit (
    code        text        PRIMARY KEY,
    name        text        NOT NULL,
    kind        text        NOT NULL CHECK (kind IN ('province', 'district', 'commune')),
    parent      text,
    valid_from  date        NOT NULL,
    valid_to    date,
    successor   text,
    basis       text        NOT NULL DEFAULT '',
    source      text        NOT NULL DEFAULT '',
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT admin_unit_period CHECK (valid_to IS NULL OR valid_to >= valid_from),
    CONSTRAINT admin_unit_successor_ends CHECK (successor IS NULL OR valid_to IS NOT NULL),
    CONSTRAINT admin_unit_province_has_no_parent CHECK ((kind = 'province') = (parent IS NULL))
);

CREATE INDEX admin_unit_parent_idx ON admin_unit (parent);

COMMENT ON TABLE admin_unit IS
    'Administrative units with effective dates and successors, loaded from files';
COMMENT ON COLUMN admin_unit.valid_to IS 'Last day in force (inclusive); NULL: still in force';
COMMENT ON COLUMN admin_unit.successor IS 'The unit that took over from the day after valid_to';

CREATE TABLE calendar_day (
    day         date        PRIMARY KEY,
    kind        text        NOT NULL CHECK (kind IN ('off', 'worked')),
    name        text        NOT NULL DEFAULT '',
    basis       text        NOT NULL DEFAULT '',
    source      text        NOT NULL DEFAULT '',
    loaded_at   timestamptz NOT NULL DEFAULT now(),
    CONSTRAINT calendar_day_worked_is_a_weekend CHECK (
        kind = 'off' OR extract(isodow FROM day) IN (6, 7)
    )
);

COMMENT ON TABLE calendar_day IS
    'Official days off and weekend days worked in exchange, added to the statutory holidays';
