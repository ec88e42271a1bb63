"""Norwegian geography: kommuner, police districts, postcodes and common names.

Framework-free; the reference data is bundled in ``stemme/geo/data`` and loaded lazily.
"""

from stemme.geo.service import (
    POLICE_DISTRICTS,
    AmbiguousKommuneError,
    Kommune,
    UnknownDistrictError,
    UnknownKommuneError,
    UnknownPostcodeError,
    all_kommuner,
    district_of,
    district_population,
    find_kommuner,
    first_names,
    kommune_by_name,
    kommune_by_number,
    kommune_by_postcode,
    kommuner_in_district,
    last_names,
    normalise_district,
    postcode_place,
)

__all__ = [
    "POLICE_DISTRICTS",
    "AmbiguousKommuneError",
    "Kommune",
    "UnknownDistrictError",
    "UnknownKommuneError",
    "UnknownPostcodeError",
    "all_kommuner",
    "district_of",
    "district_population",
    "find_kommuner",
    "first_names",
    "kommune_by_name",
    "kommune_by_number",
    "kommune_by_postcode",
    "kommuner_in_district",
    "last_names",
    "normalise_district",
    "postcode_place",
]
