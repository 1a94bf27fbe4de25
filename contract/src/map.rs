//! The map page's settings: base-map tiles and default centre (GAD_MAP_TILE_URL,
//! GAD_MAP_CENTER), and the emergency search radius and position freshness.

use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MapSettings {
    /// Tile URL template; `None`: no base map (offline), markers only.
    pub tile_url: Option<String>,
    pub center_lat: f64,
    pub center_lon: f64,
    /// Radius of the nearest-officer search, metres.
    pub search_radius_m: f64,
    /// Oldest position the nearest-officer search accepts, minutes.
    pub fresh_minutes: i64,
}
