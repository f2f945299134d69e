//! Data source `vnetpeer_aiven_organization_vpc`: runbook step 5 for an organization VPC, "find
//! the organization's VPC in the cloud region" (docs/development/aiven.md, 'Organization VPCs').
//!
//! By `cloud_name`: one `GET /v1/organization/{organization_id}/vpcs`, keeping the VPCs of that
//! cloud that are not being deleted; zero or several matches are errors that list what exists.
//! By `organization_vpc_id`: one `GET /v1/organization/{organization_id}/vpc/{id}`. An
//! organization VPC has a list of clouds (exactly one today); the client reads the first.

use async_trait::async_trait;

use crate::aiven::{Vpc as AivenVpc, VpcAddress};
use crate::cloud::CloudError;
use crate::framework::{
    Attribute, Block, Context, DataSource, Diagnostic, Diagnostics, ObjectExt, Schema, model,
    validators,
};
use crate::value::Value;

use super::ProviderData;
use super::support::{call_context, checks, cloud_diagnostic};

/// The `vnetpeer_aiven_organization_vpc` data source.
pub struct AivenOrganizationVpc;

model! {
    /// Every attribute of the data source, as its configuration and result hold it.
    struct Vpc {
        organization_id: Value,
        cloud_name: Value,
        organization_vpc_id: Value,
        network_cidr: Value,
        state: Value,
        display_name: Value,
    }
}

/// VPC states that mean "going away": never the answer to "which VPC is in this cloud".
const GONE_STATES: [&str; 2] = ["DELETING", "DELETED"];

#[async_trait]
impl DataSource<ProviderData> for AivenOrganizationVpc {
    fn type_name(&self) -> &'static str {
        "vnetpeer_aiven_organization_vpc"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "Looks up an organization VPC of an Aiven organization, by cloud (region) or by \
                 id (runbook step 5 for an organization VPC, which every project of the \
                 organization can place services in). Its `organization_vpc_id` is what \
                 `vnetpeer_aiven_org_vpc_peering` peers with, and its `network_cidr` must not \
                 overlap the Azure VNet's address space.\n\nGive exactly one of `cloud_name` \
                 and `organization_vpc_id`. By cloud, VPCs that are being deleted are ignored; \
                 no match or several matches are errors that list the organization's VPCs. The \
                 Aiven token needs the organization permission `organization:networking:read`.",
            )
            .attribute(
                Attribute::string("organization_id")
                    .required()
                    .description("Id of the Aiven organization, e.g. `org1a2b3c4d5e6`.")
                    .validate(validators::not_blank()),
            )
            .attribute(
                Attribute::string("cloud_name")
                    .optional()
                    .computed()
                    .description(
                        "Aiven cloud the VPC is in, e.g. `azure-westeurope`. Give this or \
                         `organization_vpc_id`; computed when looking up by id.",
                    )
                    .validate(validators::not_blank()),
            )
            .attribute(
                Attribute::string("organization_vpc_id")
                    .optional()
                    .computed()
                    .description(
                        "Id of the organization VPC (a UUID). Give this or `cloud_name`; \
                         computed when looking up by cloud.",
                    )
                    .validate(checks::uuid()),
            )
            .attribute(
                Attribute::string("network_cidr")
                    .computed()
                    .description("IPv4 range of the organization VPC, e.g. `10.30.0.0/24`."),
            )
            .attribute(Attribute::string("state").computed().description(
                "State of the VPC: `ACTIVE`, or `APPROVED` while Aiven is still building it.",
            ))
            .attribute(
                Attribute::string("display_name")
                    .computed()
                    .description("The VPC's display name in the Aiven console."),
            ),
        )
    }

    fn validate(&self, config: &Value, diagnostics: &mut Diagnostics) {
        let cloud = config.attr(Vpc::cloud_name);
        let id = config.attr(Vpc::organization_vpc_id);
        if cloud.is_unknown() || id.is_unknown() {
            return;
        }
        match (cloud.is_null(), id.is_null()) {
            (true, true) => diagnostics.push(
                Diagnostic::error(
                    "Missing organization VPC selector",
                    "Set `cloud_name` (e.g. \"azure-westeurope\") to find the organization's VPC \
                     in that cloud, or `organization_vpc_id` to read a VPC by id.",
                )
                .at(Vpc::cloud_name),
            ),
            (false, false) => diagnostics.push(
                Diagnostic::error(
                    "Conflicting organization VPC selectors",
                    "Set only one of `cloud_name` and `organization_vpc_id`: the other one is \
                     computed from the VPC found.",
                )
                .at(Vpc::organization_vpc_id),
            ),
            _ => {}
        }
    }

    async fn read(&self, ctx: &Context<ProviderData>, config: Value) -> Result<Value, Diagnostics> {
        let aiven = ctx.data().aiven()?;
        let call = call_context(ctx);
        let organization = config
            .attr_str(Vpc::organization_id)
            .unwrap_or_default()
            .to_owned();
        let vpc = match (
            config.attr_str(Vpc::organization_vpc_id),
            config.attr_str(Vpc::cloud_name),
        ) {
            (Some(id), _) => aiven
                .get_vpc(
                    &call,
                    &VpcAddress::Organization {
                        organization_id: organization.clone(),
                        vpc_id: id.to_owned(),
                    },
                )
                .await
                .map_err(|error| lookup_error(&organization, Some(id), &error))?,
            (None, Some(cloud)) => {
                let vpcs = aiven
                    .list_organization_vpcs(&call, &organization)
                    .await
                    .map_err(|error| lookup_error(&organization, None, &error))?;
                select_by_cloud(&organization, cloud, vpcs)?
            }
            (None, None) => {
                return Err(Diagnostic::error(
                    "Missing organization VPC selector",
                    "Set `cloud_name` or `organization_vpc_id`.",
                )
                .into());
            }
        };
        let mut state = config;
        state.set_attr(Vpc::organization_vpc_id, vpc.vpc_id);
        state.set_attr(Vpc::cloud_name, vpc.cloud_name);
        state.set_attr(Vpc::network_cidr, vpc.network_cidr);
        state.set_attr(Vpc::state, vpc.state);
        state.set_attr(
            Vpc::display_name,
            vpc.display_name.map_or(Value::Null, Value::string),
        );
        Ok(state)
    }
}

/// The one live VPC of `organization` in `cloud`, or an error listing what the organization has.
fn select_by_cloud(
    organization: &str,
    cloud: &str,
    vpcs: Vec<AivenVpc>,
) -> Result<AivenVpc, Diagnostics> {
    let (mut matching, others): (Vec<AivenVpc>, Vec<AivenVpc>) =
        vpcs.into_iter().partition(|vpc| {
            vpc.cloud_name.eq_ignore_ascii_case(cloud) && !GONE_STATES.contains(&vpc.state.as_str())
        });
    let describe = |vpc: &AivenVpc| {
        format!(
            "{} ({}, {}, {})",
            vpc.cloud_name, vpc.vpc_id, vpc.network_cidr, vpc.state
        )
    };
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => {
            let existing = if others.is_empty() {
                "The organization has no organization VPCs.".to_owned()
            } else {
                format!(
                    "The organization's VPCs: {}.",
                    others.iter().map(describe).collect::<Vec<_>>().join("; ")
                )
            };
            Err(Diagnostic::error(
                format!("No organization VPC in cloud {cloud:?}"),
                format!(
                    "Aiven organization {organization} has no organization VPC in cloud \
                     {cloud:?} (VPCs being deleted are ignored). {existing} Create the VPC \
                     first (Aiven console, `avn organization vpc create`), fix `cloud_name`, or \
                     peer a project VPC instead (`vnetpeer_aiven_project_vpc`)."
                ),
            )
            .at(Vpc::cloud_name)
            .into())
        }
        _ => Err(Diagnostic::error(
            format!("Several organization VPCs in cloud {cloud:?}"),
            format!(
                "Aiven organization {organization} has {} organization VPCs in cloud \
                 {cloud:?}: {}. Set `organization_vpc_id` instead of `cloud_name` to choose one.",
                matching.len(),
                matching
                    .iter()
                    .map(|vpc| format!("{} ({})", vpc.vpc_id, vpc.network_cidr))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        )
        .at(Vpc::cloud_name)
        .into()),
    }
}

/// A failed VPC lookup, with the usual causes: a wrong organization id or VPC id (404), or a
/// token without the organization networking permission (403).
fn lookup_error(organization: &str, vpc_id: Option<&str>, error: &CloudError) -> Diagnostics {
    let (summary, path) = match vpc_id {
        Some(id) => (
            format!("Cannot read organization VPC {id} of Aiven organization {organization}"),
            Vpc::organization_vpc_id,
        ),
        None => (
            format!("Cannot list the organization VPCs of Aiven organization {organization}"),
            Vpc::organization_id,
        ),
    };
    let mut diagnostic = cloud_diagnostic(summary, error);
    if error.is_not_found() {
        diagnostic.detail.push_str(
            "\n\nCheck `organization_id` (e.g. `org1a2b3c4d5e6`, from `avn organization list`) \
             and the VPC id.",
        );
    } else if error.status() == Some(403) {
        diagnostic.detail.push_str(
            "\n\nThe Aiven token needs the organization permission \
             `organization:networking:read` (`organization:networking:write` to peer): grant \
             it to the token's user or application user in the organization.",
        );
        return diagnostic.at(Vpc::organization_id).into();
    }
    diagnostic.at(path).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn vpc(id: &str, cloud: &str, state: &str) -> AivenVpc {
        AivenVpc {
            vpc_id: id.into(),
            cloud_name: cloud.into(),
            network_cidr: "10.30.0.0/24".into(),
            state: state.into(),
            display_name: None,
            peering_connections: Vec::new(),
        }
    }

    #[test]
    fn selects_the_live_vpc_of_the_cloud_and_lists_the_others_otherwise() {
        let found = select_by_cloud(
            "org1",
            "azure-westeurope",
            vec![
                vpc("old", "azure-westeurope", "DELETING"),
                vpc("live", "azure-westeurope", "ACTIVE"),
                vpc("other", "aws-eu-west-1", "ACTIVE"),
            ],
        )
        .unwrap();
        assert_eq!(found.vpc_id, "live");
        let none = select_by_cloud(
            "org1",
            "azure-germany-westcentral",
            vec![vpc("other", "aws-eu-west-1", "ACTIVE")],
        )
        .unwrap_err();
        let detail = &none.iter().next().unwrap().detail;
        assert!(detail.contains("aws-eu-west-1 (other"), "{detail}");
        let several = select_by_cloud(
            "org1",
            "azure-westeurope",
            vec![
                vpc("a", "azure-westeurope", "ACTIVE"),
                vpc("b", "azure-westeurope", "APPROVED"),
            ],
        )
        .unwrap_err();
        assert!(
            several
                .iter()
                .next()
                .unwrap()
                .detail
                .contains("organization_vpc_id")
        );
    }

    #[test]
    fn the_organization_vpc_body_reads_its_single_cloud() {
        let vpc: AivenVpc = serde_json::from_value(serde_json::json!({
            "organization_vpc_id": "a1000000-0000-4000-8000-0000000000f2",
            "organization_id": "org1a2b3c4d5e6",
            "clouds": [{"cloud_name": "azure-switzerland-north", "network_cidr": "10.30.0.0/24"}],
            "display_name": "shared",
            "state": "ACTIVE",
            "peering_connections": [],
            "pending_build_only_peering_connections": null,
        }))
        .unwrap();
        assert_eq!(vpc.vpc_id, "a1000000-0000-4000-8000-0000000000f2");
        assert_eq!(vpc.cloud_name, "azure-switzerland-north");
        assert_eq!(vpc.network_cidr, "10.30.0.0/24");
        assert_eq!(vpc.display_name.as_deref(), Some("shared"));
        assert!(
            serde_json::from_value::<AivenVpc>(serde_json::json!({
                "organization_vpc_id": "x", "clouds": [], "state": "ACTIVE"
            }))
            .is_err()
        );
    }
}
