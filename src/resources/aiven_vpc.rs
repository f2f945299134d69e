//! Data sources `vnetpeer_aiven_project_vpc` and `vnetpeer_aiven_organization_vpc`: runbook
//! step 5, "find the Aiven VPC in the cloud region" (docs/development/aiven.md, 'Project VPCs'
//! and 'Organization VPCs'). One lookup serves both; [`Addressing`] says which owner and id
//! attributes name the VPC, and the client's [`VpcAddress`](crate::aiven::VpcAddress) which API path it is read from.
//!
//! By `cloud_name`: one `GET /v1/project/{project}/vpcs` (or
//! `/v1/organization/{organization_id}/vpcs`), keeping the VPCs of that cloud that are not being
//! deleted; zero or several matches are errors that list what exists. By id: one
//! `GET /v1/project/{project}/vpcs/{id}` (or `/v1/organization/{organization_id}/vpc/{id}`). An
//! organization VPC has a list of clouds (exactly one today); the client reads the first.

use async_trait::async_trait;

use crate::aiven::{Vpc as AivenVpc, VpcAddress};
use crate::cloud::CloudError;
use crate::framework::{
    Attribute, Block, DataSource, Diagnostic, Diagnostics, Model, ObjectExt, Schema, model,
    validators,
};
use crate::resources::Ctx;
use crate::value::Value;

use super::ProviderData;
use super::aiven_vpc_peering::Addressing;
use super::support::{call_context, checks, cloud_diagnostic};

/// The `vnetpeer_aiven_project_vpc` (a project's VPC) or `vnetpeer_aiven_organization_vpc`
/// (an organization's VPC) data source.
pub struct AivenVpcLookup(pub Addressing);

model! {
    /// What the lookup reports about the VPC found, besides its id (`cloud_name` is also a
    /// selector; the owner and id attributes are named by [`Addressing`]).
    struct Found {
        cloud_name: String,
        network_cidr: String,
        state: String,
    }
}

model! {
    /// What only an organization VPC reports.
    struct OrganizationVpcExtras {
        display_name: Option<String>,
    }
}

impl AivenVpcLookup {
    fn description(&self) -> &'static str {
        match self.0 {
            Addressing::Project => {
                "Looks up the project VPC of an Aiven project, by cloud (region) or by id \
                 (runbook step 5). Its `project_vpc_id` is what `vnetpeer_aiven_vpc_peering` \
                 peers with, and its `network_cidr` must not overlap the Azure VNet's address \
                 space.\n\nGive exactly one of `cloud_name` and `project_vpc_id`. By cloud, VPCs \
                 that are being deleted are ignored; no match or several matches are errors that \
                 list the project's VPCs."
            }
            Addressing::Organization => {
                "Looks up an organization VPC of an Aiven organization, by cloud (region) or by \
                 id (runbook step 5 for an organization VPC, which every project of the \
                 organization can place services in). Its `organization_vpc_id` is what \
                 `vnetpeer_aiven_org_vpc_peering` peers with, and its `network_cidr` must not \
                 overlap the Azure VNet's address space.\n\nGive exactly one of `cloud_name` \
                 and `organization_vpc_id`. By cloud, VPCs that are being deleted are ignored; \
                 no match or several matches are errors that list the organization's VPCs. The \
                 Aiven token needs the organization permission `organization:networking:read`."
            }
        }
    }

    /// The owner attribute and the VPC id attribute.
    fn owner_and_id_attributes(&self) -> [Attribute; 2] {
        let owner_description = match self.0 {
            Addressing::Project => "Name of the Aiven project, e.g. `acme-prod`.",
            Addressing::Organization => "Id of the Aiven organization, e.g. `org1a2b3c4d5e6`.",
        };
        [
            Attribute::string(self.0.owner_attribute())
                .required()
                .description(owner_description)
                .validate(validators::not_blank()),
            Attribute::string(self.0.vpc_attribute())
                .optional()
                .computed()
                .description(format!(
                    "Id of the {} (a UUID). Give this or `cloud_name`; computed when looking \
                     up by cloud.",
                    self.0.vpc_kind()
                ))
                .validate(checks::uuid()),
        ]
    }

    /// Reads the VPC by id, or finds the one live VPC of the cloud.
    async fn find(
        &self,
        ctx: &Ctx,
        owner: &str,
        vpc_id: Option<&str>,
        cloud: &str,
    ) -> Result<AivenVpc, Diagnostics> {
        let aiven = ctx.data().aiven()?;
        let call = call_context(ctx);
        if let Some(id) = vpc_id {
            let address = self.0.kind().address(owner.to_owned(), id.to_owned());
            return aiven
                .get_vpc(&call, &address)
                .await
                .map_err(|error| self.lookup_error(owner, Some(&address), &error));
        }
        let listed = aiven.list_vpcs(&call, self.0.kind(), owner).await;
        let vpcs = listed.map_err(|error| self.lookup_error(owner, None, &error))?;
        self.select_by_cloud(owner, cloud, vpcs)
    }

    /// The one live VPC of `owner` in `cloud`, or an error listing what the owner has.
    fn select_by_cloud(
        &self,
        owner: &str,
        cloud: &str,
        vpcs: Vec<AivenVpc>,
    ) -> Result<AivenVpc, Diagnostics> {
        let (mut matching, others): (Vec<AivenVpc>, Vec<AivenVpc>) =
            vpcs.into_iter().partition(|vpc| vpc.is_live_in(cloud));
        let (noun, kind) = (self.0.kind().owner_noun(), self.0.vpc_kind());
        let owner_label = self.0.kind().owner_label(owner);
        match matching.len() {
            1 => Ok(matching.remove(0)),
            0 => {
                let existing = if others.is_empty() {
                    format!("The {noun} has no {kind}s.")
                } else {
                    let listed: Vec<String> = others
                        .iter()
                        .map(|vpc| {
                            format!(
                                "{} ({}, {}, {})",
                                vpc.cloud_name, vpc.vpc_id, vpc.network_cidr, vpc.state
                            )
                        })
                        .collect();
                    format!("The {noun}'s VPCs: {}.", listed.join("; "))
                };
                let remedy = match self.0 {
                    Addressing::Project => {
                        "Create the VPC first (Aiven console, `avn vpc create`, or the aiven \
                         provider's `aiven_project_vpc`), or fix `cloud_name`."
                    }
                    Addressing::Organization => {
                        "Create the VPC first (Aiven console, `avn organization vpc create`), \
                         fix `cloud_name`, or peer a project VPC instead \
                         (`vnetpeer_aiven_project_vpc`)."
                    }
                };
                Err(Diagnostic::error(
                    format!("No {kind} in cloud {cloud:?}"),
                    format!(
                        "{owner_label} has no {kind} in cloud {cloud:?} (VPCs being deleted are \
                         ignored). {existing} {remedy}"
                    ),
                )
                .at(Found::cloud_name)
                .into())
            }
            _ => Err(Diagnostic::error(
                format!("Several {kind}s in cloud {cloud:?}"),
                format!(
                    "{owner_label} has {} {kind}s in cloud {cloud:?}: {}. Set `{}` instead of \
                     `cloud_name` to choose one.",
                    matching.len(),
                    matching
                        .iter()
                        .map(|vpc| format!("{} ({})", vpc.vpc_id, vpc.network_cidr))
                        .collect::<Vec<_>>()
                        .join(", "),
                    self.0.vpc_attribute(),
                ),
            )
            .at(Found::cloud_name)
            .into()),
        }
    }

    /// A failed VPC lookup, with the usual causes: a wrong owner or VPC id (404; Aiven also
    /// answers 404 to a token without access to a project), or a token without the organization
    /// networking permission (403).
    fn lookup_error(
        &self,
        owner: &str,
        vpc: Option<&VpcAddress>,
        error: &CloudError,
    ) -> Diagnostics {
        let kind = self.0.kind();
        let (summary, mut path) = match vpc {
            Some(vpc) => (format!("Cannot read {vpc}"), self.0.vpc_attribute()),
            None => (
                format!(
                    "Cannot list the {}s of {}",
                    kind.noun(),
                    kind.owner_label(owner)
                ),
                self.0.owner_attribute(),
            ),
        };
        let hint = match self.0 {
            Addressing::Project if error.is_not_found() => Some(
                "Check the project name (it is case-sensitive) and the VPC id, and that the \
                 Aiven token has access to the project (`project:networking:read`).",
            ),
            Addressing::Organization if error.is_not_found() => Some(
                "Check `organization_id` (e.g. `org1a2b3c4d5e6`, from `avn organization \
                 list`) and the VPC id.",
            ),
            Addressing::Organization if error.status() == Some(403) => {
                path = self.0.owner_attribute();
                Some(
                    "The Aiven token needs the organization permission \
                     `organization:networking:read` (`organization:networking:write` to peer): \
                     grant it to the token's user or application user in the organization.",
                )
            }
            _ => None,
        };
        let mut diagnostic = cloud_diagnostic(summary, error);
        if let Some(hint) = hint {
            diagnostic = diagnostic.with_paragraph(hint);
        }
        diagnostic.at(path).into()
    }
}

#[async_trait]
impl DataSource<ProviderData> for AivenVpcLookup {
    fn type_name(&self) -> &'static str {
        match self.0 {
            Addressing::Project => "vnetpeer_aiven_project_vpc",
            Addressing::Organization => "vnetpeer_aiven_organization_vpc",
        }
    }

    fn schema(&self) -> Schema {
        let [owner, vpc_id] = self.owner_and_id_attributes();
        let example_range = match self.0 {
            Addressing::Project => "10.20.0.0/24",
            Addressing::Organization => "10.30.0.0/24",
        };
        let block = Block::new(self.description())
            .attribute(owner)
            .attribute(
                Attribute::string(Found::cloud_name)
                    .optional()
                    .computed()
                    .description(format!(
                        "Aiven cloud the VPC is in, e.g. `azure-westeurope`. Give this or \
                         `{}`; computed when looking up by id.",
                        self.0.vpc_attribute()
                    ))
                    .validate(validators::not_blank()),
            )
            .attribute(vpc_id)
            .attribute(
                Attribute::string(Found::network_cidr)
                    .computed()
                    .description(format!(
                        "IPv4 range of the {}, e.g. `{example_range}`.",
                        self.0.vpc_kind()
                    )),
            )
            .attribute(Attribute::string(Found::state).computed().description(
                "State of the VPC: `ACTIVE`, or `APPROVED` while Aiven is still building it.",
            ));
        Schema::new(match self.0 {
            Addressing::Project => block,
            Addressing::Organization => block.attribute(
                Attribute::string(OrganizationVpcExtras::display_name)
                    .computed()
                    .description("The VPC's display name in the Aiven console."),
            ),
        })
    }

    fn validate(&self, config: &Value, diagnostics: &mut Diagnostics) {
        let cloud = config.attr(Found::cloud_name);
        let id = config.attr(self.0.vpc_attribute());
        // Only judge what is known: an unknown value may turn out null or not.
        if cloud.is_unknown() || id.is_unknown() {
            return;
        }
        let (noun, kind, id_attribute) = (
            self.0.kind().owner_noun(),
            self.0.vpc_kind(),
            self.0.vpc_attribute(),
        );
        match (cloud.is_null(), id.is_null()) {
            (true, true) => diagnostics.push(
                Diagnostic::error(
                    format!("Missing {kind} selector"),
                    format!(
                        "Set `cloud_name` (e.g. \"azure-westeurope\") to find the {noun}'s VPC \
                         in that cloud, or `{id_attribute}` to read a VPC by id."
                    ),
                )
                .at(Found::cloud_name),
            ),
            (false, false) => diagnostics.push(
                Diagnostic::error(
                    format!("Conflicting {kind} selectors"),
                    format!(
                        "Set only one of `cloud_name` and `{id_attribute}`: the other one is \
                         computed from the VPC found."
                    ),
                )
                .at(id_attribute),
            ),
            _ => {}
        }
    }

    async fn read(&self, ctx: &Ctx, config: Value) -> Result<Value, Diagnostics> {
        let owner = config
            .attr_str(self.0.owner_attribute())
            .unwrap_or_default();
        let vpc_id = config.attr_str(self.0.vpc_attribute());
        let cloud = config.attr_str(Found::cloud_name);
        if vpc_id.is_none() && cloud.is_none() {
            return Err(Diagnostic::error(
                format!("Missing {} selector", self.0.vpc_kind()),
                format!("Set `cloud_name` or `{}`.", self.0.vpc_attribute()),
            )
            .into());
        }
        let vpc = self
            .find(ctx, owner, vpc_id, cloud.unwrap_or_default())
            .await?;
        let mut state = config;
        state.set_attr(self.0.vpc_attribute(), vpc.vpc_id);
        Found {
            cloud_name: vpc.cloud_name,
            network_cidr: vpc.network_cidr,
            state: vpc.state,
        }
        .write_to(&mut state);
        if self.0 == Addressing::Organization {
            OrganizationVpcExtras {
                display_name: vpc.display_name,
            }
            .write_to(&mut state);
        }
        Ok(state)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PROJECT: AivenVpcLookup = AivenVpcLookup(Addressing::Project);
    const ORGANIZATION: AivenVpcLookup = AivenVpcLookup(Addressing::Organization);

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

    /// The one live VPC in `azure-westeurope` of the owner `acme`, among VPCs given as
    /// (id, cloud, state).
    fn select(lookup: &AivenVpcLookup, vpcs: &[(&str, &str, &str)]) -> Result<AivenVpc, String> {
        let vpcs = vpcs
            .iter()
            .map(|(id, cloud, state)| vpc(id, cloud, state))
            .collect();
        lookup
            .select_by_cloud("acme", "azure-westeurope", vpcs)
            .map_err(|errors| {
                let diagnostic = errors.iter().next().unwrap();
                format!("{}: {}", diagnostic.summary, diagnostic.detail)
            })
    }

    #[test]
    fn selects_the_live_vpc_of_the_cloud() {
        for lookup in [PROJECT, ORGANIZATION] {
            let found = select(
                &lookup,
                &[
                    ("old", "azure-westeurope", "DELETING"),
                    ("other", "azure-northeurope", "ACTIVE"),
                    ("live", "azure-westeurope", "ACTIVE"),
                ],
            );
            assert_eq!(found.unwrap().vpc_id, "live");
        }
    }

    #[test]
    fn no_match_lists_the_existing_clouds() {
        let vpcs = [
            ("gone", "azure-westeurope", "DELETED"),
            ("other", "aws-eu-west-1", "ACTIVE"),
        ];
        for (lookup, owner_has_none) in [
            (PROJECT, "Aiven project \"acme\" has no project VPC in"),
            (
                ORGANIZATION,
                "Aiven organization acme has no organization VPC in",
            ),
        ] {
            let text = select(&lookup, &vpcs).unwrap_err();
            assert!(text.contains(owner_has_none), "{text}");
            assert!(text.contains("aws-eu-west-1 (other"), "{text}");
            assert!(text.contains("azure-westeurope (gone"), "{text}");
        }
        assert!(
            select(&PROJECT, &[])
                .unwrap_err()
                .contains("has no project VPCs")
        );
    }

    #[test]
    fn several_matches_name_them_and_suggest_the_id() {
        let several = [
            ("a", "azure-westeurope", "ACTIVE"),
            ("b", "azure-westeurope", "APPROVED"),
        ];
        let text = select(&PROJECT, &several).unwrap_err();
        assert!(text.starts_with("Several"), "{text}");
        assert!(text.contains("a (10.1.0.0/24), b"), "{text}");
        assert!(text.contains("project_vpc_id"), "{text}");
        let text = select(&ORGANIZATION, &several).unwrap_err();
        assert!(text.contains("organization_vpc_id"), "{text}");
    }

    #[test]
    fn exactly_one_selector() {
        for (lookup, owner, id) in [
            (PROJECT, "project", "project_vpc_id"),
            (ORGANIZATION, "organization_id", "organization_vpc_id"),
        ] {
            let check = |cloud: Value, vpc_id: Value| {
                let mut diagnostics = Diagnostics::new();
                lookup.validate(
                    &Value::object([
                        (owner, Value::string("p")),
                        ("cloud_name", cloud),
                        (id, vpc_id),
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
}
