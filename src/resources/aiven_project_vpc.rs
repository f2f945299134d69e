//! Data source `vnetpeer_aiven_project_vpc`: runbook step 5, "find the project VPC of the Aiven
//! project in the cloud region" (docs/development/aiven.md, 'Project VPCs').
//!
//! By `cloud_name`: one `GET /v1/project/{project}/vpcs`, keeping the VPCs of that cloud that
//! are not being deleted; zero or several matches are errors that list what exists. By
//! `project_vpc_id`: one `GET /v1/project/{project}/vpcs/{id}`.

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

/// The `vnetpeer_aiven_project_vpc` data source.
pub struct AivenProjectVpc;

model! {
    /// Every attribute of the data source, as its configuration and result hold it.
    struct Vpc {
        project: Value,
        cloud_name: Value,
        project_vpc_id: Value,
        network_cidr: Value,
        state: Value,
    }
}

/// VPC states that mean "going away": never the answer to "which VPC is in this cloud".
const GONE_STATES: [&str; 2] = ["DELETING", "DELETED"];

#[async_trait]
impl DataSource<ProviderData> for AivenProjectVpc {
    fn type_name(&self) -> &'static str {
        "vnetpeer_aiven_project_vpc"
    }

    fn schema(&self) -> Schema {
        Schema::new(
            Block::new(
                "Looks up the project VPC of an Aiven project, by cloud (region) or by id \
                 (runbook step 5). Its `project_vpc_id` is what `vnetpeer_aiven_vpc_peering` \
                 peers with, and its `network_cidr` must not overlap the Azure VNet's address \
                 space.\n\nGive exactly one of `cloud_name` and `project_vpc_id`. By cloud, VPCs \
                 that are being deleted are ignored; no match or several matches are errors that \
                 list the project's VPCs.",
            )
            .attribute(
                Attribute::string("project")
                    .required()
                    .description("Name of the Aiven project, e.g. `acme-prod`.")
                    .validate(validators::not_blank()),
            )
            .attribute(
                Attribute::string("cloud_name")
                    .optional()
                    .computed()
                    .description(
                        "Aiven cloud the VPC is in, e.g. `azure-westeurope`. Give this or \
                         `project_vpc_id`; computed when looking up by id.",
                    )
                    .validate(validators::not_blank()),
            )
            .attribute(
                Attribute::string("project_vpc_id")
                    .optional()
                    .computed()
                    .description(
                        "Id of the project VPC (a UUID). Give this or `cloud_name`; computed \
                         when looking up by cloud.",
                    )
                    .validate(checks::uuid()),
            )
            .attribute(
                Attribute::string("network_cidr")
                    .computed()
                    .description("IPv4 range of the project VPC, e.g. `10.20.0.0/24`."),
            )
            .attribute(Attribute::string("state").computed().description(
                "State of the VPC: `ACTIVE`, or `APPROVED` while Aiven is still building it.",
            )),
        )
    }

    fn validate(&self, config: &Value, diagnostics: &mut Diagnostics) {
        let cloud = config.attr(Vpc::cloud_name);
        let id = config.attr(Vpc::project_vpc_id);
        // Only judge what is known: an unknown value may turn out null or not.
        if cloud.is_unknown() || id.is_unknown() {
            return;
        }
        match (cloud.is_null(), id.is_null()) {
            (true, true) => diagnostics.push(
                Diagnostic::error(
                    "Missing project VPC selector",
                    "Set `cloud_name` (e.g. \"azure-westeurope\") to find the project's VPC in \
                     that cloud, or `project_vpc_id` to read a VPC by id.",
                )
                .at(Vpc::cloud_name),
            ),
            (false, false) => diagnostics.push(
                Diagnostic::error(
                    "Conflicting project VPC selectors",
                    "Set only one of `cloud_name` and `project_vpc_id`: the other one is \
                     computed from the VPC found.",
                )
                .at(Vpc::project_vpc_id),
            ),
            _ => {}
        }
    }

    async fn read(&self, ctx: &Context<ProviderData>, config: Value) -> Result<Value, Diagnostics> {
        let aiven = ctx.data().aiven()?;
        let call = call_context(ctx);
        let project = config.attr_str(Vpc::project).unwrap_or_default().to_owned();
        let vpc = match (
            config.attr_str(Vpc::project_vpc_id),
            config.attr_str(Vpc::cloud_name),
        ) {
            (Some(id), _) => aiven
                .get_vpc(
                    &call,
                    &VpcAddress::Project {
                        project: project.clone(),
                        vpc_id: id.to_owned(),
                    },
                )
                .await
                .map_err(|error| lookup_error(&project, Some(id), &error))?,
            (None, Some(cloud)) => {
                let vpcs = aiven
                    .list_project_vpcs(&call, &project)
                    .await
                    .map_err(|error| lookup_error(&project, None, &error))?;
                select_by_cloud(&project, cloud, vpcs)?
            }
            (None, None) => {
                return Err(Diagnostic::error(
                    "Missing project VPC selector",
                    "Set `cloud_name` or `project_vpc_id`.",
                )
                .into());
            }
        };
        let mut state = config;
        state.set_attr(Vpc::project_vpc_id, vpc.vpc_id);
        state.set_attr(Vpc::cloud_name, vpc.cloud_name);
        state.set_attr(Vpc::network_cidr, vpc.network_cidr);
        state.set_attr(Vpc::state, vpc.state);
        Ok(state)
    }
}

/// The one live VPC of `project` in `cloud`, or an error listing what the project has.
fn select_by_cloud(
    project: &str,
    cloud: &str,
    vpcs: Vec<AivenVpc>,
) -> Result<AivenVpc, Diagnostics> {
    let (mut matching, others): (Vec<AivenVpc>, Vec<AivenVpc>) =
        vpcs.into_iter().partition(|vpc| {
            vpc.cloud_name.eq_ignore_ascii_case(cloud) && !GONE_STATES.contains(&vpc.state.as_str())
        });
    match matching.len() {
        1 => Ok(matching.remove(0)),
        0 => {
            let existing = if others.is_empty() {
                "The project has no project VPCs.".to_owned()
            } else {
                format!(
                    "The project's VPCs: {}.",
                    others
                        .iter()
                        .map(|vpc| format!(
                            "{} ({}, {}, {})",
                            vpc.cloud_name, vpc.vpc_id, vpc.network_cidr, vpc.state
                        ))
                        .collect::<Vec<_>>()
                        .join("; ")
                )
            };
            Err(Diagnostic::error(
                format!("No project VPC in cloud {cloud:?}"),
                format!(
                    "Aiven project {project:?} has no project VPC in cloud {cloud:?} (VPCs \
                     being deleted are ignored). {existing} Create the VPC first (Aiven console, \
                     `avn vpc create`, or the aiven provider's `aiven_project_vpc`), or fix \
                     `cloud_name`."
                ),
            )
            .at(Vpc::cloud_name)
            .into())
        }
        _ => Err(Diagnostic::error(
            format!("Several project VPCs in cloud {cloud:?}"),
            format!(
                "Aiven project {project:?} has {} project VPCs in cloud {cloud:?}: {}. Set \
                 `project_vpc_id` instead of `cloud_name` to choose one.",
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

/// A failed VPC lookup, with the usual causes of a 404 (wrong project, wrong id, or a token
/// without access to the project, which Aiven also answers with 404).
fn lookup_error(project: &str, vpc_id: Option<&str>, error: &CloudError) -> Diagnostics {
    let (summary, path) = match vpc_id {
        Some(id) => (
            format!("Cannot read project VPC {id} of Aiven project {project:?}"),
            Vpc::project_vpc_id,
        ),
        None => (
            format!("Cannot list the project VPCs of Aiven project {project:?}"),
            Vpc::project,
        ),
    };
    let mut diagnostic = cloud_diagnostic(summary, error);
    if error.is_not_found() {
        diagnostic.detail.push_str(
            "\n\nCheck the project name (it is case-sensitive) and the VPC id, and that the \
             Aiven token has access to the project (`project:networking:read`).",
        );
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
            network_cidr: "10.1.0.0/24".into(),
            state: state.into(),
            display_name: None,
            peering_connections: Vec::new(),
        }
    }

    #[test]
    fn selects_the_live_vpc_of_the_cloud() {
        let found = select_by_cloud(
            "p",
            "azure-westeurope",
            vec![
                vpc("old", "azure-westeurope", "DELETING"),
                vpc("other", "azure-northeurope", "ACTIVE"),
                vpc("live", "azure-westeurope", "ACTIVE"),
            ],
        )
        .unwrap();
        assert_eq!(found.vpc_id, "live");
    }

    #[test]
    fn no_match_lists_the_existing_clouds() {
        let errors = select_by_cloud(
            "p",
            "azure-westeurope",
            vec![
                vpc("gone", "azure-westeurope", "DELETED"),
                vpc("other", "azure-northeurope", "ACTIVE"),
            ],
        )
        .unwrap_err();
        let diagnostic = errors.iter().next().unwrap();
        assert!(diagnostic.detail.contains("azure-northeurope (other"));
        assert!(diagnostic.detail.contains("azure-westeurope (gone"));
        let none = select_by_cloud("p", "azure-westeurope", Vec::new()).unwrap_err();
        assert!(
            none.iter()
                .next()
                .unwrap()
                .detail
                .contains("has no project VPCs")
        );
    }

    #[test]
    fn several_matches_name_them_and_suggest_the_id() {
        let errors = select_by_cloud(
            "p",
            "azure-westeurope",
            vec![
                vpc("a", "azure-westeurope", "ACTIVE"),
                vpc("b", "azure-westeurope", "APPROVED"),
            ],
        )
        .unwrap_err();
        let diagnostic = errors.iter().next().unwrap();
        assert!(diagnostic.summary.contains("Several"));
        assert!(diagnostic.detail.contains("a (10.1.0.0/24), b"));
        assert!(diagnostic.detail.contains("project_vpc_id"));
    }

    #[test]
    fn exactly_one_selector() {
        let check = |cloud: Value, id: Value| {
            let mut diagnostics = Diagnostics::new();
            AivenProjectVpc.validate(
                &Value::object([
                    ("project", Value::string("p")),
                    ("cloud_name", cloud),
                    ("project_vpc_id", id),
                ]),
                &mut diagnostics,
            );
            diagnostics.has_errors()
        };
        assert!(check(Value::Null, Value::Null));
        assert!(check(Value::string("c"), Value::string("i")));
        assert!(!check(Value::string("c"), Value::Null));
        assert!(!check(Value::Null, Value::string("i")));
        assert!(!check(Value::unknown(), Value::Null));
    }
}
