//! Synthetic San Francisco city lots, shaped like the `citylots` GeoJSON features that
//! aws/event-ruler and quamina benchmark with.
//!
//! Every feature is a pure function of `(seed, index)`, so the first 20,000 features of a `--quick`
//! run are the first 20,000 of a full run, and rule generators can refer to "the MAPBLKLOT of
//! feature 7" without generating the corpus.
//!
//! Two renderings of the same features:
//! - [`Feature::to_json`]: `citylots`, geometry as plain nested coordinate arrays
//!   (`[[[-122.42, 37.80, 0.0], ...]]`), about 926 bytes on average.
//! - [`Feature::to_json_structured`]: `citylots2`, the "structured arrays" revision event-ruler's
//!   CL2 benchmark uses, where each point is an object `{"x":..,"y":..,"z":..}` inside the arrays and
//!   `geometry.firstCoordinates` holds the first point. The NUMERIC and COMPLEX_ARRAYS rule sets
//!   need this shape (about 1.2 KB on average).

use std::fmt::Write as _;
use std::sync::OnceLock;

use crate::rng::{Rng, Zipf};

const STREAM_FEATURE: u64 = 1;
const STREAM_CONDO: u64 = 2;
const STREAM_STREET_TYPE: u64 = 3;

/// Street names in San Francisco, most frequent first (the order sets their Zipf rank).
const HEAD_STREETS: &[&str] = &[
    "UNKNOWN",
    "MISSION",
    "FOLSOM",
    "17TH",
    "18TH",
    "CALIFORNIA",
    "WASHINGTON",
    "JACKSON",
    "CLAY",
    "SACRAMENTO",
    "FULTON",
    "HARRISON",
    "BRYANT",
    "GEARY",
    "CHESTNUT",
    "HYDE",
    "MASON",
    "TARAVAL",
    "NORIEGA",
    "IRVING",
    "JUDAH",
    "KIRKHAM",
    "LAWTON",
    "MORAGA",
    "ORTEGA",
    "QUINTARA",
    "RIVERA",
    "SANTIAGO",
    "ULLOA",
    "VICENTE",
    "WAWONA",
    "BALBOA",
    "CABRILLO",
    "ANZA",
    "CLEMENT",
    "LAKE",
    "BEACH",
    "JEFFERSON",
    "BAY",
    "NORTH POINT",
    "FRANCISCO",
    "LOMBARD",
    "GREENWICH",
    "FILBERT",
    "UNION",
    "GREEN",
    "VALLEJO",
    "BROADWAY",
    "PACIFIC",
    "PINE",
    "BUSH",
    "SUTTER",
    "POST",
    "O'FARRELL",
    "ELLIS",
    "EDDY",
    "TURK",
    "GOLDEN GATE",
    "MCALLISTER",
    "FELL",
    "OAK",
    "PAGE",
    "HAIGHT",
    "WALLER",
    "DUBOCE",
    "HERMANN",
    "MARKET",
    "HAYES",
    "GROVE",
    "VALENCIA",
    "GUERRERO",
    "DOLORES",
    "CHURCH",
    "SANCHEZ",
    "NOE",
    "CASTRO",
    "DIAMOND",
    "DOUGLASS",
    "HOFFMAN",
    "GRAND VIEW",
    "DIVISADERO",
    "BRODERICK",
    "BAKER",
    "LYON",
    "CENTRAL",
    "MASONIC",
    "ASHBURY",
    "CLAYTON",
    "COLE",
    "SHRADER",
    "STANYAN",
    "ARGUELLO",
    "PARKER",
    "COLLINS",
    "WOOD",
    "LAUREL",
    "SPRUCE",
    "MAPLE",
    "CHERRY",
    "FUNSTON",
    "FULTON PL",
    "FUNSTON PL",
    "ACADIA",
    "ACEVEDO",
    "ACME",
    "BLAKE",
    "BLANKEN",
    "BLUXOME",
    "BLAIRWOOD",
    "BLYTHDALE",
    "DRUMM",
    "DRAKE",
    "DRUMMOND",
    "DRAVES",
    "RHODE ISLAND",
    "RHINE",
    "RHODES",
    "FLEMING",
    "CUSHING",
    "DEMING",
    "SPRING",
    "KING",
    "STERLING",
    "MANNING",
    "CHICAGO",
    "SAN DIEGO",
    "LARGO",
    "ARROYO GRANDE",
    "PALOMA",
    "SAN JOSE",
    "ALEMANY",
    "SILVER",
    "PERSIA",
    "RUSSIA",
    "FRANCE",
    "ITALY",
    "AMAZON",
    "GENEVA",
    "OCEAN",
    "JUNIPERO SERRA",
    "SLOAT",
    "PORTOLA",
    "CLIPPER",
    "26TH",
    "24TH",
    "25TH",
    "23RD",
    "22ND",
    "21ST",
    "20TH",
    "19TH",
    "16TH",
    "15TH",
    "14TH",
    "13TH",
    "12TH",
    "11TH",
    "10TH",
    "9TH",
    "8TH",
    "7TH",
    "6TH",
    "5TH",
    "4TH",
    "3RD",
    "2ND",
    "1ST",
    "27TH",
    "28TH",
    "29TH",
    "30TH",
    "32ND",
    "33RD",
    "34TH",
    "35TH",
    "36TH",
    "37TH",
    "38TH",
    "39TH",
    "40TH",
    "41ST",
    "42ND",
    "43RD",
    "44TH",
    "45TH",
    "46TH",
    "47TH",
    "48TH",
    "POTRERO",
    "KANSAS",
    "RHODE",
    "DE HARO",
    "CAROLINA",
    "WISCONSIN",
    "ARKANSAS",
    "CONNECTICUT",
    "MISSOURI",
    "TEXAS",
    "MISSISSIPPI",
    "PENNSYLVANIA",
    "INDIANA",
    "MINNESOTA",
    "TENNESSEE",
    "ILLINOIS",
    "VERMONT",
    "UTAH",
    "YORK",
    "HAMPSHIRE",
    "ALABAMA",
    "FLORIDA",
    "TREAT",
    "SHOTWELL",
    "CAPP",
    "HOWARD",
    "NATOMA",
    "MINNA",
    "TEHAMA",
    "CLEMENTINA",
    "BRANNAN",
    "TOWNSEND",
    "KING ST",
    "BERRY",
    "CHANNEL",
    "EMBARCADERO",
    "STEUART",
    "SPEAR",
    "MAIN",
    "BEALE",
    "FREMONT",
    "FIRST",
    "SECOND",
    "HAWTHORNE",
    "KEARNY",
    "MONTGOMERY",
    "SANSOME",
    "BATTERY",
    "FRONT",
    "DAVIS",
    "GRANT",
    "STOCKTON",
    "POWELL",
    "TAYLOR",
    "JONES",
    "LEAVENWORTH",
    "LARKIN",
    "POLK",
    "VAN NESS",
    "FRANKLIN",
    "GOUGH",
    "OCTAVIA",
    "LAGUNA",
    "BUCHANAN",
    "WEBSTER",
    "FILLMORE",
    "STEINER",
    "PIERCE",
    "SCOTT",
    "HOLLIS",
    "LAKE MERCED",
    "BROTHERHOOD",
    "HOLLOWAY",
    "MONTEREY",
    "HAZELWOOD",
    "MANGELS",
    "GENNESSEE",
    "FOERSTER",
    "BURKE",
    "CLARKE",
    "DUKE",
    "YERBA BUENA",
    "BUENA VISTA",
    "CORBETT",
    "PANORAMA",
    "CLARENDON",
    "TWIN PEAKS",
];

const TAIL_A: &[&str] = &[
    "AL", "BER", "CAR", "DEL", "ES", "FAIR", "GLEN", "HAR", "IN", "JUN", "KEN", "LIN", "MAR",
    "NOR", "OR", "PAR",
];
const TAIL_B: &[&str] = &[
    "A", "BRO", "CA", "DI", "E", "FIELD", "GA", "HA", "I", "LA", "MO", "NA", "O", "RI", "SO", "VA",
];
const TAIL_C: &[&str] = &[
    "DO", "LEY", "MONT", "NIA", "RA", "SA", "TON", "VIEW", "WOOD", "WAY", "CREST", "DALE",
];

/// Street types and their overall weights (null is handled separately).
const ST_TYPES: &[(&str, u32)] = &[
    ("ST", 600),
    ("AVE", 230),
    ("BLVD", 30),
    ("WAY", 30),
    ("TER", 25),
    ("DR", 20),
    ("PL", 20),
    ("CT", 15),
    ("LN", 15),
    ("ALY", 15),
];

/// How often a lot has no street type at all (`"ST_TYPE": null`).
const ST_TYPE_NULL: f64 = 0.07;
/// How often STREET comes from the long synthetic tail rather than the head list.
const TAIL_SHARE: f64 = 0.10;
/// How often a lot is one unit of a condominium, whose MAPBLKLOT is shared with its siblings.
const CONDO_SHARE: f64 = 0.12;
/// Number of condominium buildings.
const CONDOS: usize = 2_000;
/// How often a lot is a vacated street (`MAPBLKLOT` like `VACSTWIL`).
const VACATED_SHARE: f64 = 0.0008;
const VACATED: &[&str] = &["WIL", "MAR", "JES", "ALY", "RHL", "HOW"];
/// How often a feature is a MultiPolygon (citylots: 120 of 213,068).
const MULTI_SHARE: f64 = 0.0006;

/// The street-name vocabulary: the head list, then a synthetic long tail, all distinct.
pub fn streets() -> &'static [String] {
    static STREETS: OnceLock<Vec<String>> = OnceLock::new();
    STREETS.get_or_init(|| {
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for s in HEAD_STREETS {
            if seen.insert((*s).to_owned()) {
                out.push((*s).to_owned());
            }
        }
        for a in TAIL_A {
            for b in TAIL_B {
                for c in TAIL_C {
                    let s = format!("{a}{b}{c}");
                    if seen.insert(s.clone()) {
                        out.push(s);
                    }
                }
            }
        }
        out
    })
}

/// Number of names in the head list (the rest of [`streets`] is the tail).
pub fn head_streets() -> usize {
    static N: OnceLock<usize> = OnceLock::new();
    *N.get_or_init(|| {
        let set: std::collections::HashSet<&str> = HEAD_STREETS.iter().copied().collect();
        set.len()
    })
}

fn head_zipf() -> &'static Zipf {
    static Z: OnceLock<Zipf> = OnceLock::new();
    Z.get_or_init(|| Zipf::new(head_streets(), 0.9))
}

fn condo_zipf() -> &'static Zipf {
    static Z: OnceLock<Zipf> = OnceLock::new();
    Z.get_or_init(|| Zipf::new(CONDOS, 1.0))
}

/// The street type of street `index` in [`streets`] (each street has one; lots sometimes have none).
pub fn street_type(index: usize) -> &'static str {
    static TYPES: OnceLock<Vec<&'static str>> = OnceLock::new();
    TYPES.get_or_init(|| {
        let weights: Vec<u32> = ST_TYPES.iter().map(|(_, w)| *w).collect();
        (0..streets().len())
            .map(|i| {
                let mut rng = Rng::for_item(0, STREAM_STREET_TYPE, i as u64);
                ST_TYPES[rng.weighted(&weights)].0
            })
            .collect()
    })[index]
}

/// One city lot.
#[derive(Clone, Debug)]
pub struct Feature {
    /// Map block and lot, e.g. `0001001`; shared by the units of a condominium.
    pub mapblklot: String,
    /// Block and lot of this unit.
    pub blklot: String,
    /// Block number, e.g. `0001` or `3027A`.
    pub block_num: String,
    /// Lot number, e.g. `001`.
    pub lot_num: String,
    /// Lowest street number, a numeric string.
    pub from_st: String,
    /// Highest street number, a numeric string.
    pub to_st: String,
    /// Index of the street in [`streets`].
    pub street: usize,
    /// Street type, or none (`null`).
    pub st_type: Option<&'static str>,
    /// `E` or `O`.
    pub odd_even: &'static str,
    /// Polygons, each a list of rings, each a list of `(lon, lat)` in units of 1e-15 degrees.
    pub polygons: Vec<Vec<Vec<(i64, i64)>>>,
}

const E15: i64 = 1_000_000_000_000_000;

fn block_and_lot(rng: &mut Rng) -> (String, String) {
    let mut block = format!("{:04}", rng.range(1, 7_645));
    if rng.chance(0.03) {
        block.push(*rng.pick(&['A', 'B', 'C', 'D', 'E', 'F', 'G', 'H']));
    }
    // Low lot numbers are far more common than high ones.
    let lot_max = *rng.pick(&[20usize, 40, 60, 120]);
    let mut lot = format!("{:03}", rng.range(1, lot_max));
    if rng.chance(0.02) {
        lot.push(*rng.pick(&['A', 'B', 'C']));
    }
    (block, lot)
}

fn ring(rng: &mut Rng, lon: i64, lat: i64, points: usize) -> Vec<(i64, i64)> {
    // A rough quadrilateral-ish lot: points scattered on a small ellipse, closed.
    let w = rng.range(60_000, 600_000) as i64 * 1_000_000_000; // 6e-5 .. 6e-4 degrees
    let h = rng.range(60_000, 600_000) as i64 * 1_000_000_000;
    let mut out = Vec::with_capacity(points);
    for k in 0..points.saturating_sub(1) {
        let t = k as f64 / (points - 1) as f64 * std::f64::consts::TAU;
        let jitter = (rng.unit() - 0.5) * 0.1;
        let dx = ((t.cos() + jitter) * w as f64) as i64;
        let dy = ((t.sin() - jitter) * h as f64) as i64;
        out.push((
            lon + dx + rng.below(1_000_000_000) as i64,
            lat + dy + rng.below(1_000_000_000) as i64,
        ));
    }
    let first = out[0];
    out.push(first);
    out
}

fn point_count(rng: &mut Rng) -> usize {
    if rng.chance(0.014) {
        rng.range(30, 80)
    } else {
        rng.range(5, 24)
    }
}

fn condo_block_and_lot(seed: u64, condo: usize) -> (String, String) {
    block_and_lot(&mut Rng::for_item(seed, STREAM_CONDO, condo as u64))
}

/// The MAPBLKLOT shared by the units of condominium `condo` (0 is the largest).
pub fn condo_mapblklot(seed: u64, condo: usize) -> String {
    let (block, lot) = condo_block_and_lot(seed, condo);
    format!("{block}{lot}")
}

/// Feature `index` of the corpus seeded with `seed`.
pub fn feature(seed: u64, index: u64) -> Feature {
    let mut rng = Rng::for_item(seed, STREAM_FEATURE, index);

    let (mapblklot, blklot, block_num, lot_num);
    if rng.chance(VACATED_SHARE) {
        let v = *rng.pick(VACATED);
        mapblklot = format!("VACST{v}");
        blklot = mapblklot.clone();
        block_num = "VACST".to_owned();
        lot_num = v.to_owned();
    } else if rng.chance(CONDO_SHARE) {
        let c = condo_zipf().sample(&mut rng);
        let (block, lot) = condo_block_and_lot(seed, c);
        mapblklot = format!("{block}{lot}");
        let unit = format!("{:03}", rng.range(1, 250));
        blklot = format!("{block}{unit}");
        block_num = block;
        lot_num = unit;
    } else {
        let (block, lot) = block_and_lot(&mut rng);
        mapblklot = format!("{block}{lot}");
        blklot = mapblklot.clone();
        block_num = block;
        lot_num = lot;
    }

    let street = if rng.chance(TAIL_SHARE) {
        rng.range(head_streets(), streets().len() - 1)
    } else {
        head_zipf().sample(&mut rng)
    };
    let st_type = if streets()[street] == "UNKNOWN" || rng.chance(ST_TYPE_NULL) {
        None
    } else {
        Some(street_type(street))
    };

    let (from_st, to_st, odd_even);
    if rng.chance(0.18) {
        from_st = "0".to_owned();
        to_st = "0".to_owned();
        odd_even = if rng.chance(0.5) { "E" } else { "O" };
    } else {
        let from = rng.range(1, 3_999);
        let to = from + 2 * rng.below(12);
        from_st = from.to_string();
        to_st = to.to_string();
        odd_even = if from.is_multiple_of(2) { "E" } else { "O" };
    }

    // Somewhere in San Francisco.
    let lon = -122 * E15 - rng.range(357_000, 515_000) as i64 * 1_000_000_000;
    let lat = 37 * E15 + rng.range(708_000, 833_000) as i64 * 1_000_000_000;
    let polygons = if rng.chance(MULTI_SHARE) {
        (0..2)
            .map(|k| {
                let n = point_count(&mut rng) / 2 + 4;
                vec![ring(&mut rng, lon + k * 900_000_000_000, lat, n)]
            })
            .collect()
    } else {
        let n = point_count(&mut rng);
        vec![vec![ring(&mut rng, lon, lat, n)]]
    };

    Feature {
        mapblklot,
        blklot,
        block_num,
        lot_num,
        from_st,
        to_st,
        street,
        st_type,
        odd_even,
        polygons,
    }
}

/// A coordinate in 1e-15 degrees as a JSON number with 15 decimals, e.g. `-122.422003528252475`.
pub fn coord(v: i64) -> String {
    let mut s = String::with_capacity(20);
    push_coord(&mut s, v);
    s
}

fn push_coord(out: &mut String, v: i64) {
    if v < 0 {
        out.push('-');
    }
    let a = v.unsigned_abs();
    let _ = write!(out, "{}.{:015}", a / E15 as u64, a % E15 as u64);
}

impl Feature {
    /// The street name.
    pub fn street_name(&self) -> &'static str {
        &streets()[self.street]
    }

    /// True for a MultiPolygon.
    pub fn is_multi(&self) -> bool {
        self.polygons.len() > 1
    }

    /// The first point of the geometry.
    pub fn first_point(&self) -> (i64, i64) {
        self.polygons[0][0][0]
    }

    fn push_properties(&self, out: &mut String) {
        out.push_str(r#"{"type":"Feature","properties":{"MAPBLKLOT":""#);
        out.push_str(&self.mapblklot);
        out.push_str(r#"","BLKLOT":""#);
        out.push_str(&self.blklot);
        out.push_str(r#"","BLOCK_NUM":""#);
        out.push_str(&self.block_num);
        out.push_str(r#"","LOT_NUM":""#);
        out.push_str(&self.lot_num);
        out.push_str(r#"","FROM_ST":""#);
        out.push_str(&self.from_st);
        out.push_str(r#"","TO_ST":""#);
        out.push_str(&self.to_st);
        out.push_str(r#"","STREET":""#);
        out.push_str(self.street_name());
        out.push_str(r#"","ST_TYPE":"#);
        match self.st_type {
            Some(t) => {
                out.push('"');
                out.push_str(t);
                out.push('"');
            }
            None => out.push_str("null"),
        }
        out.push_str(r#","ODD_EVEN":""#);
        out.push_str(self.odd_even);
        out.push_str(r#""},"geometry":{"type":""#);
        out.push_str(if self.is_multi() {
            "MultiPolygon"
        } else {
            "Polygon"
        });
        out.push_str(r#"","coordinates":"#);
    }

    fn push_geometry(&self, out: &mut String, point: impl Fn(&mut String, (i64, i64))) {
        let multi = self.is_multi();
        if multi {
            out.push('[');
        }
        for (pi, polygon) in self.polygons.iter().enumerate() {
            if pi > 0 {
                out.push(',');
            }
            out.push('[');
            for (ri, ring) in polygon.iter().enumerate() {
                if ri > 0 {
                    out.push(',');
                }
                out.push('[');
                for (k, &p) in ring.iter().enumerate() {
                    if k > 0 {
                        out.push(',');
                    }
                    point(out, p);
                }
                out.push(']');
            }
            out.push(']');
        }
        if multi {
            out.push(']');
        }
    }

    /// The `citylots` rendering: plain coordinate arrays.
    pub fn to_json(&self) -> String {
        let mut out = String::with_capacity(1024);
        self.push_properties(&mut out);
        self.push_geometry(&mut out, |out, (x, y)| {
            out.push('[');
            push_coord(out, x);
            out.push(',');
            push_coord(out, y);
            out.push_str(",0.0]");
        });
        out.push_str("}}");
        out
    }

    /// The `citylots2` rendering: points as `{"x","y","z"}` objects, plus `firstCoordinates`.
    pub fn to_json_structured(&self) -> String {
        let mut out = String::with_capacity(1400);
        self.push_properties(&mut out);
        let xyz = |out: &mut String, (x, y): (i64, i64)| {
            out.push_str(r#"{"x":"#);
            push_coord(out, x);
            out.push_str(r#","y":"#);
            push_coord(out, y);
            out.push_str(r#","z":0.0}"#);
        };
        self.push_geometry(&mut out, xyz);
        out.push_str(r#","firstCoordinates":"#);
        xyz(&mut out, self.first_point());
        out.push_str("}}");
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn features_are_valid_json_of_the_right_shape() {
        let mut total = 0;
        for i in 0..2_000 {
            let f = feature(1, i);
            let plain = f.to_json();
            total += plain.len();
            let v: serde_json::Value = serde_json::from_str(&plain).expect("valid JSON");
            assert_eq!(v["type"], "Feature");
            assert!(v["properties"]["STREET"].is_string());
            let s: serde_json::Value =
                serde_json::from_str(&f.to_json_structured()).expect("valid JSON");
            assert!(s["geometry"]["firstCoordinates"]["x"].is_number());
        }
        let avg = total / 2_000;
        assert!((850..1_000).contains(&avg), "average size {avg}");
    }

    #[test]
    fn coordinates_have_fifteen_decimals() {
        assert_eq!(coord(-122_422_003_528_252_475), "-122.422003528252475");
        assert_eq!(coord(37_008_480_096_967_251), "37.008480096967251");
    }

    #[test]
    fn vocabulary_is_distinct_and_large() {
        let s = streets();
        let set: std::collections::HashSet<_> = s.iter().collect();
        assert_eq!(set.len(), s.len());
        assert!(s.len() > 3_000, "{}", s.len());
    }
}
