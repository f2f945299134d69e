//! Microsoft.Resources: `GET /subscriptions/{id}`, `GET /subscriptions` (docs/development/arm.md,
//! 'Subscription → tenant id') and `GET /subscriptions/{id}/resourceGroups/{name}`.

use axum::Router;
use axum::extract::Path;
use axum::http::StatusCode;
use axum::response::Response;
use axum::routing::get;
use serde_json::{Value, json};

use super::{ArmCall, ArmError, Namespace, json_response, respond};
use crate::emulator::EmulatorState;
use crate::world::arm::Subscription;

pub(super) fn routes() -> Router<EmulatorState> {
    Router::new()
        .route("/subscriptions", get(list_subscriptions))
        .route("/subscriptions/{subscription_id}", get(get_subscription))
        .route(
            "/subscriptions/{subscription_id}/resourceGroups/{resource_group}",
            get(get_resource_group),
        )
}

#[derive(Debug, serde::Deserialize)]
struct GroupPath {
    subscription_id: String,
    resource_group: String,
}

async fn get_resource_group(Path(p): Path<GroupPath>, call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Resources)?;
        ctx.check_subscription(&p.subscription_id)?;
        let scope = format!(
            "/subscriptions/{}/resourceGroups/{}",
            p.subscription_id, p.resource_group
        );
        // Visible to principals holding a role at, above or inside it.
        ctx.check_visible(
            &scope,
            "Microsoft.Resources/subscriptions/resourceGroups/read",
        )?;
        let subscription = ctx
            .world
            .arm
            .subscription(&p.subscription_id)
            .ok_or_else(|| ArmError::subscription_not_found(&p.subscription_id))?;
        let group = ctx
            .world
            .arm
            .resource_group(&p.subscription_id, &p.resource_group)
            .ok_or_else(|| ArmError::resource_group_not_found(&p.resource_group))?;
        Ok(json_response(
            StatusCode::OK,
            json!({
                "id": format!("/subscriptions/{}/resourceGroups/{}", subscription.subscription_id, group.name),
                "name": group.name,
                "type": "Microsoft.Resources/resourceGroups",
                "location": group.location,
                "properties": {"provisioningState": "Succeeded"},
            }),
        ))
    })())
}

fn subscription_json(subscription: &Subscription) -> Value {
    json!({
        "id": format!("/subscriptions/{}", subscription.subscription_id),
        "authorizationSource": "RoleBased",
        "managedByTenants": [],
        "subscriptionId": subscription.subscription_id,
        "tenantId": subscription.tenant_id,
        "displayName": subscription.display_name,
        "state": "Enabled",
        "subscriptionPolicies": {
            "locationPlacementId": "Public_2014-09-01",
            "quotaId": "PayAsYouGo_2014-09-01",
            "spendingLimit": "Off",
        },
    })
}

async fn get_subscription(Path(subscription_id): Path<String>, call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Resources)?;
        ctx.check_subscription(&subscription_id)?;
        let scope = format!("/subscriptions/{subscription_id}");
        // A subscription is visible to any principal holding a role anywhere inside it.
        ctx.check_visible(&scope, "Microsoft.Resources/subscriptions/read")?;
        let subscription = ctx
            .world
            .arm
            .subscription(&subscription_id)
            .ok_or_else(|| ArmError::subscription_not_found(&subscription_id))?;
        Ok(json_response(
            StatusCode::OK,
            subscription_json(subscription),
        ))
    })())
}

async fn list_subscriptions(call: ArmCall) -> Response {
    respond((|| {
        let ctx = call.begin(Namespace::Resources)?;
        let value: Vec<Value> = ctx
            .world
            .arm
            .subscriptions
            .iter()
            .filter(|s| s.tenant_id.eq_ignore_ascii_case(&ctx.principal.tenant_id))
            .filter(|s| {
                ctx.world.arm.principal_has_any_assignment_within(
                    &ctx.principal.object_id,
                    &format!("/subscriptions/{}", s.subscription_id),
                )
            })
            .map(subscription_json)
            .collect();
        Ok(json_response(StatusCode::OK, json!({"value": value})))
    })())
}
