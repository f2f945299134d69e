//! The id of an Azure peering connection as this provider names it: the VPC's address followed
//! by the peer VNet's resource id, `<project>/<project_vpc_id><vnet_id>` or
//! `organization/<organization_id>/<organization_vpc_id><vnet_id>`. A project id's second segment
//! is a UUID and an organization id's an organization id, so the two forms never collide (a
//! project named `organization` keeps its project meaning).
//!
//! The VNet id is returned as text: its grammar is Azure's, checked by the caller.

use super::{VpcAddress, VpcKind};

/// What an organization peering's id starts with.
const ORGANIZATION_PREFIX: &str = "organization/";

impl VpcAddress {
    /// The id of this VPC's connection to the VNet `vnet_id` (which starts with `/`).
    pub fn peering_id(&self, vnet_id: &str) -> String {
        let prefix = match self {
            Self::Project { .. } => "",
            Self::Organization { .. } => ORGANIZATION_PREFIX,
        };
        format!("{prefix}{}/{}{vnet_id}", self.owner(), self.vpc_id())
    }

    /// The VPC and the VNet id of a [`Self::peering_id`]; a `/` doubled before the VNet id is
    /// accepted. The error says what is wrong, quoting `id`.
    pub fn parse_peering_id(id: &str) -> Result<(VpcAddress, String), String> {
        let organization = id
            .strip_prefix(ORGANIZATION_PREFIX)
            .filter(|rest| rest.split('/').next().is_some_and(|owner| !is_uuid(owner)));
        let (rest, owner_kind) = match organization {
            Some(rest) => (rest, "organization id"),
            None => (id, "project name"),
        };
        let (owner, rest) = rest
            .split_once('/')
            .ok_or_else(|| format!("{id:?} has no `/`"))?;
        let (vpc_id, vnet_rest) = rest
            .split_once('/')
            .ok_or_else(|| format!("{id:?} has no virtual network id"))?;
        if owner.trim().is_empty() {
            return Err(format!("{id:?} has an empty {owner_kind}"));
        }
        if vpc_id.trim().is_empty() {
            return Err(format!("{id:?} has an empty VPC id"));
        }
        let kind = match organization {
            Some(_) => VpcKind::Organization,
            None => VpcKind::Project,
        };
        let vpc = kind.address(owner.to_owned(), vpc_id.to_owned());
        Ok((vpc, format!("/{}", vnet_rest.trim_start_matches('/'))))
    }
}

/// Whether `text` is a UUID in its hyphenated 36-character form (VPC ids are).
pub fn is_uuid(text: &str) -> bool {
    text.len() == 36 && uuid::Uuid::try_parse(text).is_ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const VPC: &str = "a1000000-0000-4000-8000-0000000000f1";
    const VNET: &str =
        "/subscriptions/s/resourceGroups/g/providers/Microsoft.Network/virtualNetworks/v";

    #[test]
    fn ids_of_both_vpc_kinds_round_trip() {
        for vpc in [
            VpcAddress::Project {
                project: "acme-prod".into(),
                vpc_id: VPC.into(),
            },
            VpcAddress::Organization {
                organization_id: "org1a2b3c4d5e6".into(),
                vpc_id: VPC.into(),
            },
        ] {
            let (owner, vpc_id) = (vpc.owner().to_owned(), vpc.vpc_id().to_owned());
            assert_eq!(vpc.kind().address(owner, vpc_id), vpc);
            let id = vpc.peering_id(VNET);
            assert_eq!(
                VpcAddress::parse_peering_id(&id),
                Ok((vpc.clone(), VNET.to_owned()))
            );
            // A doubled `/` before the VNet id is the same id.
            let doubled = id.replace(&format!("{VPC}/"), &format!("{VPC}//"));
            assert_eq!(
                VpcAddress::parse_peering_id(&doubled),
                Ok((vpc, VNET.to_owned()))
            );
        }
        assert_eq!(
            VpcAddress::Organization {
                organization_id: "org1".into(),
                vpc_id: VPC.into()
            }
            .peering_id(VNET),
            format!("organization/org1/{VPC}{VNET}")
        );
    }

    #[test]
    fn a_project_named_organization_keeps_its_project_meaning() {
        let (vpc, _) = VpcAddress::parse_peering_id(&format!("organization/{VPC}{VNET}")).unwrap();
        assert_eq!(
            vpc,
            VpcAddress::Project {
                project: "organization".into(),
                vpc_id: VPC.into()
            }
        );
    }

    #[test]
    fn malformed_ids_say_what_is_wrong() {
        for (bad, says) in [
            ("acme-prod", "has no `/`"),
            ("acme-prod/vpc", "has no virtual network id"),
            (&format!("/{VPC}{VNET}"), "has an empty project name"),
            ("organization/org1//x", "has an empty VPC id"),
            ("organization/ /v/x", "has an empty organization id"),
        ] {
            let error = VpcAddress::parse_peering_id(bad).unwrap_err();
            assert!(error.contains(says), "{bad}: {error}");
        }
        assert!(is_uuid(VPC));
        assert!(!is_uuid("a1000000000040008000000000000000f1"));
        assert!(!is_uuid("not-a-uuid"));
    }
}
