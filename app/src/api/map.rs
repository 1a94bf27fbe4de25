//! The map page's settings: base-map tiles and default centre (GAD_MAP_TILE_URL,
//! GAD_MAP_CENTER), and the emergency search radius and position freshness.

use contract::ApiError;
use leptos::prelude::*;

use contract::map::*;

/// The map settings, for signed-in users.
#[server(prefix = "/api/fn", endpoint = "map_settings", name = GetMapSettings, output = crate::api::codec::JsonText)]
pub async fn map_settings() -> Result<MapSettings, ApiError> {
    use crate::server::context;

    context::respond(
        async {
            let state = context::app_state()?;
            context::current_actor().await?;
            let config = &state.config;
            Ok(MapSettings {
                tile_url: config.map_tile_url.clone(),
                center_lat: config.map_center.0,
                center_lon: config.map_center.1,
                search_radius_m: config.emergency_radius_m,
                fresh_minutes: config.position_fresh_minutes,
            })
        }
        .await,
    )
}
