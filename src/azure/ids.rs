//! Typed Azure Resource Manager ids: parse (case-insensitive segment names, as ARM treats them),
//! validate, and format in canonical casing.
//!
//! Parse errors say which form was expected, so they can be shown to users as they are.
//! Deterministic GUIDs for role definitions and assignments live here too: a retried create
//! then reuses the same name and is idempotent.

use std::fmt;

use uuid::Uuid;

/// A malformed id or name, with the expected form.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{value:?} is not a valid {kind}: {reason}; expected {expected}")]
pub struct IdError {
    /// What was being parsed, e.g. "virtual network id".
    pub kind: &'static str,
    /// The input.
    pub value: String,
    /// What is wrong.
    pub reason: String,
    /// The expected form.
    pub expected: &'static str,
}

impl From<IdError> for crate::cloud::error::CloudError {
    fn from(error: IdError) -> Self {
        crate::cloud::error::CloudError::Invalid(error.to_string())
    }
}

const VNET_FORM: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/virtualNetworks/{vnetName}";
const PEERING_FORM: &str = "/subscriptions/{subscriptionId}/resourceGroups/{resourceGroupName}/providers/Microsoft.Network/virtualNetworks/{vnetName}/virtualNetworkPeerings/{peeringName}";
const SUBSCRIPTION_FORM: &str = "/subscriptions/{subscriptionId}";
const ROLE_DEFINITION_FORM: &str = "{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}, e.g. /subscriptions/{subscriptionId}/providers/Microsoft.Authorization/roleDefinitions/{guid}";
const ROLE_ASSIGNMENT_FORM: &str =
    "{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}";

fn error(
    kind: &'static str,
    value: &str,
    reason: impl Into<String>,
    expected: &'static str,
) -> IdError {
    IdError {
        kind,
        value: value.to_owned(),
        reason: reason.into(),
        expected,
    }
}

/// Splits `/a/b/c` into segments; rejects empty segments and a missing leading slash.
fn segments<'a>(
    kind: &'static str,
    value: &'a str,
    expected: &'static str,
) -> Result<Vec<&'a str>, IdError> {
    let Some(rest) = value.strip_prefix('/') else {
        return Err(error(kind, value, "it must start with '/'", expected));
    };
    let parts: Vec<&str> = rest.trim_end_matches('/').split('/').collect();
    if parts.iter().any(|p| p.is_empty()) {
        return Err(error(kind, value, "it has an empty segment", expected));
    }
    Ok(parts)
}

fn expect_segment(
    kind: &'static str,
    value: &str,
    actual: Option<&&str>,
    wanted: &str,
    expected: &'static str,
) -> Result<(), IdError> {
    match actual {
        Some(found) if found.eq_ignore_ascii_case(wanted) => Ok(()),
        Some(found) => Err(error(
            kind,
            value,
            format!("found {found:?} where {wanted:?} belongs"),
            expected,
        )),
        None => Err(error(
            kind,
            value,
            format!("it ends before {wanted:?}"),
            expected,
        )),
    }
}

/// Checks a subscription id (a GUID) and returns it lower-cased.
pub fn validate_subscription_id(value: &str) -> Result<String, IdError> {
    parse_guid(
        "subscription id",
        value,
        "a GUID such as 00000000-0000-0000-0000-000000000000",
    )
    .map(|g| g.to_string())
}

fn parse_guid(kind: &'static str, value: &str, expected: &'static str) -> Result<Uuid, IdError> {
    // Only the hyphenated 36-character form: the one Azure shows and accepts everywhere.
    if value.len() != 36 {
        return Err(error(kind, value, "it is not a hyphenated GUID", expected));
    }
    Uuid::try_parse(value).map_err(|_| error(kind, value, "it is not a GUID", expected))
}

/// Resource group names: 1–90 characters of letters, digits, `_ - . ( )`, not ending in `.`.
fn validate_resource_group(
    kind: &'static str,
    id: &str,
    name: &str,
    expected: &'static str,
) -> Result<(), IdError> {
    let valid_chars = name
        .chars()
        .all(|c| c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | '(' | ')'));
    if name.is_empty() || name.chars().count() > 90 || !valid_chars || name.ends_with('.') {
        return Err(error(
            kind,
            id,
            format!(
                "resource group name {name:?} must be 1-90 letters, digits, '_', '-', '.', '(' or ')', not ending in '.'"
            ),
            expected,
        ));
    }
    Ok(())
}

/// VNet names: 2–64 characters, letters, digits, `_ - .`, starting alphanumeric, ending
/// alphanumeric or `_`.
fn validate_vnet_name(
    kind: &'static str,
    id: &str,
    name: &str,
    expected: &'static str,
) -> Result<(), IdError> {
    if !arm_child_name_ok(name, 2, 64) {
        return Err(error(
            kind,
            id,
            format!(
                "virtual network name {name:?} must be 2-64 letters, digits, '_', '-' or '.', start with a letter or digit and end with a letter, digit or '_'"
            ),
            expected,
        ));
    }
    Ok(())
}

fn arm_child_name_ok(name: &str, min: usize, max: usize) -> bool {
    let len = name.chars().count();
    let mut chars = name.chars();
    let first_ok = chars.next().is_some_and(|c| c.is_ascii_alphanumeric());
    let last_ok = name
        .chars()
        .last()
        .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_');
    (min..=max).contains(&len)
        && first_ok
        && last_ok
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-' | '.'))
}

/// Checks a virtual network peering name (1–80 characters; letters, digits, `_ . -`; starts
/// with a letter or digit, ends with a letter, digit or `_`).
pub fn validate_peering_name(name: &str) -> Result<(), IdError> {
    if arm_child_name_ok(name, 1, 80) {
        Ok(())
    } else {
        Err(error(
            "virtual network peering name",
            name,
            "it must be 1-80 letters, digits, '_', '.' or '-', start with a letter or digit and end with a letter, digit or '_'",
            "a name such as to-aiven",
        ))
    }
}

/// `/subscriptions/{subscriptionId}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct SubscriptionScope {
    /// The subscription GUID, lower-case.
    pub subscription_id: String,
}

impl SubscriptionScope {
    /// Parses `/subscriptions/{guid}`.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        const KIND: &str = "subscription scope";
        let parts = segments(KIND, value, SUBSCRIPTION_FORM)?;
        expect_segment(
            KIND,
            value,
            parts.first(),
            "subscriptions",
            SUBSCRIPTION_FORM,
        )?;
        if parts.len() != 2 {
            return Err(error(
                KIND,
                value,
                "it must have exactly two segments",
                SUBSCRIPTION_FORM,
            ));
        }
        let subscription_id = parse_guid(KIND, parts[1], SUBSCRIPTION_FORM).map_err(|_| {
            error(
                KIND,
                value,
                format!("{:?} is not a GUID", parts[1]),
                SUBSCRIPTION_FORM,
            )
        })?;
        Ok(Self {
            subscription_id: subscription_id.to_string(),
        })
    }
}

impl fmt::Display for SubscriptionScope {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "/subscriptions/{}", self.subscription_id)
    }
}

/// A virtual network id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VirtualNetworkId {
    /// Subscription GUID, lower-case.
    pub subscription_id: String,
    /// Resource group name, as given.
    pub resource_group: String,
    /// VNet name, as given.
    pub name: String,
}

impl VirtualNetworkId {
    /// Parses a VNet resource id (segment names case-insensitive).
    pub fn parse(value: &str) -> Result<Self, IdError> {
        const KIND: &str = "virtual network id";
        let parts = segments(KIND, value, VNET_FORM)?;
        Self::from_segments(KIND, value, &parts, VNET_FORM, 8)
    }

    fn from_segments(
        kind: &'static str,
        value: &str,
        parts: &[&str],
        expected: &'static str,
        exact_len: usize,
    ) -> Result<Self, IdError> {
        for (index, wanted) in [
            (0, "subscriptions"),
            (2, "resourceGroups"),
            (4, "providers"),
            (5, "Microsoft.Network"),
            (6, "virtualNetworks"),
        ] {
            expect_segment(kind, value, parts.get(index), wanted, expected)?;
        }
        if parts.len() < 8 {
            return Err(error(
                kind,
                value,
                "the virtual network name is missing",
                expected,
            ));
        }
        if parts.len() != exact_len {
            return Err(error(kind, value, "it has extra segments", expected));
        }
        let subscription_id = parse_guid(kind, parts[1], expected).map_err(|_| {
            error(
                kind,
                value,
                format!("subscription {:?} is not a GUID", parts[1]),
                expected,
            )
        })?;
        validate_resource_group(kind, value, parts[3], expected)?;
        validate_vnet_name(kind, value, parts[7], expected)?;
        Ok(Self {
            subscription_id: subscription_id.to_string(),
            resource_group: parts[3].to_owned(),
            name: parts[7].to_owned(),
        })
    }

    /// Same VNet, ignoring case (ARM names are case-insensitive).
    pub fn eq_ignore_case(&self, other: &Self) -> bool {
        self.to_string().eq_ignore_ascii_case(&other.to_string())
    }

    /// The subscription scope of this VNet.
    pub fn subscription(&self) -> SubscriptionScope {
        SubscriptionScope {
            subscription_id: self.subscription_id.clone(),
        }
    }

    /// The id of a peering of this VNet.
    pub fn peering(&self, name: &str) -> Result<VnetPeeringId, IdError> {
        validate_peering_name(name)?;
        Ok(VnetPeeringId {
            vnet: self.clone(),
            name: name.to_owned(),
        })
    }
}

impl fmt::Display for VirtualNetworkId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "/subscriptions/{}/resourceGroups/{}/providers/Microsoft.Network/virtualNetworks/{}",
            self.subscription_id, self.resource_group, self.name
        )
    }
}

/// A virtual network peering id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct VnetPeeringId {
    /// The local VNet.
    pub vnet: VirtualNetworkId,
    /// The peering name.
    pub name: String,
}

impl VnetPeeringId {
    /// Parses a peering resource id (segment names case-insensitive).
    pub fn parse(value: &str) -> Result<Self, IdError> {
        const KIND: &str = "virtual network peering id";
        let parts = segments(KIND, value, PEERING_FORM)?;
        expect_segment(
            KIND,
            value,
            parts.get(8),
            "virtualNetworkPeerings",
            PEERING_FORM,
        )?;
        let vnet = VirtualNetworkId::from_segments(
            KIND,
            value,
            &parts[..parts.len().min(8)],
            PEERING_FORM,
            8,
        )?;
        match parts.len() {
            10 => {}
            9 => {
                return Err(error(
                    KIND,
                    value,
                    "the peering name is missing",
                    PEERING_FORM,
                ));
            }
            _ => return Err(error(KIND, value, "it has extra segments", PEERING_FORM)),
        }
        validate_peering_name(parts[9]).map_err(|e| error(KIND, value, e.reason, PEERING_FORM))?;
        Ok(Self {
            vnet,
            name: parts[9].to_owned(),
        })
    }
}

impl fmt::Display for VnetPeeringId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/virtualNetworkPeerings/{}", self.vnet, self.name)
    }
}

/// Splits `{scope}/providers/Microsoft.Authorization/{collection}/{guid}`.
fn split_authorization_id<'a>(
    kind: &'static str,
    value: &'a str,
    collection: &str,
    expected: &'static str,
) -> Result<(&'a str, Uuid), IdError> {
    let parts = segments(kind, value, expected)?;
    let n = parts.len();
    if n < 4 {
        return Err(error(kind, value, "it is too short", expected));
    }
    expect_segment(kind, value, parts.get(n - 4), "providers", expected)?;
    expect_segment(
        kind,
        value,
        parts.get(n - 3),
        "Microsoft.Authorization",
        expected,
    )?;
    expect_segment(kind, value, parts.get(n - 2), collection, expected)?;
    let guid = parse_guid(kind, parts[n - 1], expected).map_err(|_| {
        error(
            kind,
            value,
            format!("{:?} is not a GUID", parts[n - 1]),
            expected,
        )
    })?;
    // The scope is everything before "/providers/Microsoft.Authorization/...": the segments
    // joined back, which is a prefix of the trimmed input.
    let scope_len: usize = parts[..n - 4].iter().map(|p| p.len() + 1).sum();
    Ok((&value[..scope_len], guid))
}

/// Checks an ARM scope (`/subscriptions/{s}`, `/subscriptions/{s}/resourceGroups/{rg}`, a
/// resource id, or `/` for the tenant root is not allowed here).
pub fn validate_scope(value: &str) -> Result<(), IdError> {
    const KIND: &str = "scope";
    const FORM: &str =
        "/subscriptions/{subscriptionId}[/resourceGroups/{resourceGroupName}[/providers/...]]";
    let parts = segments(KIND, value, FORM)?;
    expect_segment(KIND, value, parts.first(), "subscriptions", FORM)?;
    let subscription = parts
        .get(1)
        .ok_or_else(|| error(KIND, value, "the subscription id is missing", FORM))?;
    parse_guid(KIND, subscription, FORM)
        .map_err(|_| error(KIND, value, format!("{subscription:?} is not a GUID"), FORM))?;
    Ok(())
}

/// A role definition id: `{scope}/providers/Microsoft.Authorization/roleDefinitions/{guid}`,
/// where the scope may be empty (tenant-level form `/providers/...`, as ARM echoes built-ins).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoleDefinitionId {
    /// The scope, e.g. `/subscriptions/{s}`, or empty.
    pub scope: String,
    /// The role definition GUID.
    pub guid: Uuid,
}

impl RoleDefinitionId {
    /// Parses a role definition id.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let (scope, guid) = split_authorization_id(
            "role definition id",
            value,
            "roleDefinitions",
            ROLE_DEFINITION_FORM,
        )?;
        Ok(Self {
            scope: scope.to_owned(),
            guid,
        })
    }

    /// The id of role `guid` at `scope`.
    pub fn new(scope: &str, guid: Uuid) -> Self {
        Self {
            scope: scope.trim_end_matches('/').to_owned(),
            guid,
        }
    }

    /// Same role: ARM may echo a subscription-scoped id as the tenant-level form, so only the
    /// GUIDs are compared.
    pub fn same_role(&self, other: &Self) -> bool {
        self.guid == other.guid
    }
}

impl fmt::Display for RoleDefinitionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/providers/Microsoft.Authorization/roleDefinitions/{}",
            self.scope, self.guid
        )
    }
}

/// A role assignment id: `{scope}/providers/Microsoft.Authorization/roleAssignments/{guid}`.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct RoleAssignmentId {
    /// The scope, e.g. a VNet id.
    pub scope: String,
    /// The assignment name (a GUID).
    pub name: Uuid,
}

impl RoleAssignmentId {
    /// Parses a role assignment id.
    pub fn parse(value: &str) -> Result<Self, IdError> {
        let (scope, name) = split_authorization_id(
            "role assignment id",
            value,
            "roleAssignments",
            ROLE_ASSIGNMENT_FORM,
        )?;
        if scope.is_empty() {
            return Err(error(
                "role assignment id",
                value,
                "the scope is missing",
                ROLE_ASSIGNMENT_FORM,
            ));
        }
        Ok(Self {
            scope: scope.to_owned(),
            name,
        })
    }

    /// The id of assignment `name` at `scope`.
    pub fn new(scope: &str, name: Uuid) -> Self {
        Self {
            scope: scope.trim_end_matches('/').to_owned(),
            name,
        }
    }
}

impl fmt::Display for RoleAssignmentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            self.scope, self.name
        )
    }
}

/// Namespace of the provider's deterministic GUIDs (a fixed random UUID; never change it, or
/// retried creates of existing configurations would pick new names).
const GUID_NAMESPACE: Uuid = Uuid::from_u128(0x6f1c_2b7e_93d4_4c1a_8e55_0b6a_2d9f_4e31);

/// The role assignment name for (scope, role definition, principal): the same triple always
/// gives the same GUID, whatever the case of the inputs or which role-id form is used.
pub fn role_assignment_name(scope: &str, role_definition_guid: Uuid, principal_id: &str) -> Uuid {
    let key = format!(
        "role-assignment|{}|{}|{}",
        scope.trim_end_matches('/').to_ascii_lowercase(),
        role_definition_guid,
        principal_id.to_ascii_lowercase()
    );
    Uuid::new_v5(&GUID_NAMESPACE, key.as_bytes())
}

/// The role definition GUID for a custom role `role_name` at `scope`.
pub fn role_definition_guid(scope: &str, role_name: &str) -> Uuid {
    let key = format!(
        "role-definition|{}|{}",
        scope.trim_end_matches('/').to_ascii_lowercase(),
        role_name
    );
    Uuid::new_v5(&GUID_NAMESPACE, key.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUB: &str = "00000000-0000-0000-0000-0000000000aa";

    #[test]
    fn vnet_id_parses_case_insensitively_and_formats_canonically() {
        let id = VirtualNetworkId::parse(&format!(
            "/SUBSCRIPTIONS/{}/resourcegroups/My-RG/PROVIDERS/microsoft.network/VirtualNetworks/vnet1",
            SUB.to_uppercase()
        ))
        .unwrap();
        assert_eq!(id.subscription_id, SUB);
        assert_eq!(id.resource_group, "My-RG");
        assert_eq!(id.name, "vnet1");
        assert_eq!(
            id.to_string(),
            format!(
                "/subscriptions/{SUB}/resourceGroups/My-RG/providers/Microsoft.Network/virtualNetworks/vnet1"
            )
        );
        let other = VirtualNetworkId::parse(&id.to_string().to_uppercase()).unwrap();
        assert!(id.eq_ignore_case(&other));
        assert_eq!(VirtualNetworkId::parse(&format!("{id}/")).unwrap(), id);
    }

    #[test]
    fn vnet_id_errors_name_the_expected_form() {
        for (input, reason) in [
            ("subscriptions/x", "must start with '/'"),
            (
                &format!("/subscriptions/{SUB}/resourceGroups/rg"),
                "ends before \"providers\"",
            ),
            (
                "/subscriptions/not-a-guid/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v",
                "is not a GUID",
            ),
            (
                &format!(
                    "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Compute/virtualNetworks/v"
                ),
                "found \"Microsoft.Compute\"",
            ),
            (
                &format!(
                    "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v/subnets/s"
                ),
                "extra segments",
            ),
            (
                &format!(
                    "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/-bad"
                ),
                "virtual network name",
            ),
            (
                &format!(
                    "/subscriptions/{SUB}/resourceGroups//providers/Microsoft.Network/virtualNetworks/v"
                ),
                "empty segment",
            ),
        ] {
            let err = VirtualNetworkId::parse(input).unwrap_err().to_string();
            assert!(err.contains(reason), "{input}: {err}");
            assert!(
                err.contains("expected /subscriptions/{subscriptionId}/resourceGroups/"),
                "{err}"
            );
        }
    }

    #[test]
    fn peering_id_round_trip_and_name_rules() {
        let text = format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v1/virtualNetworkPeerings/to-aiven_"
        );
        let id = VnetPeeringId::parse(&text).unwrap();
        assert_eq!(id.name, "to-aiven_");
        assert_eq!(id.to_string(), text);
        assert_eq!(id.vnet.peering("to-aiven_").unwrap(), id);
        assert!(VnetPeeringId::parse(&text.replace("to-aiven_", "-x")).is_err());
        assert!(
            VnetPeeringId::parse(&text.replace("/virtualNetworkPeerings/to-aiven_", "")).is_err()
        );
        let err =
            VnetPeeringId::parse(&text.replace("virtualNetworkPeerings", "peerings")).unwrap_err();
        assert!(err.to_string().contains("virtualNetworkPeerings"), "{err}");
        assert!(validate_peering_name(&"a".repeat(80)).is_ok());
        assert!(validate_peering_name(&"a".repeat(81)).is_err());
        assert!(validate_peering_name("a.b-c").is_ok());
        assert!(validate_peering_name("ab-").is_err());
    }

    #[test]
    fn role_definition_ids_in_both_forms() {
        let guid = "4d97b98b-1d4f-4787-a291-c67834d212e7";
        let scoped = RoleDefinitionId::parse(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/{guid}"
        ))
        .unwrap();
        assert_eq!(scoped.scope, format!("/subscriptions/{SUB}"));
        let tenant = RoleDefinitionId::parse(&format!(
            "/providers/microsoft.authorization/roledefinitions/{}",
            guid.to_uppercase()
        ))
        .unwrap();
        assert_eq!(tenant.scope, "");
        assert!(scoped.same_role(&tenant));
        assert_eq!(
            tenant.to_string(),
            format!("/providers/Microsoft.Authorization/roleDefinitions/{guid}")
        );
        let err = RoleDefinitionId::parse(&format!(
            "/subscriptions/{SUB}/providers/Microsoft.Authorization/roleDefinitions/nope"
        ))
        .unwrap_err();
        assert!(err.to_string().contains("is not a GUID"), "{err}");
    }

    #[test]
    fn role_assignment_ids_keep_resource_scopes() {
        let vnet = format!(
            "/subscriptions/{SUB}/resourceGroups/rg/providers/Microsoft.Network/virtualNetworks/v1"
        );
        let name = Uuid::new_v4();
        let id = RoleAssignmentId::new(&vnet, name);
        let parsed = RoleAssignmentId::parse(&id.to_string()).unwrap();
        assert_eq!(parsed, id);
        assert!(
            RoleAssignmentId::parse(&format!(
                "/providers/Microsoft.Authorization/roleAssignments/{name}"
            ))
            .is_err()
        );
    }

    #[test]
    fn subscription_scope_and_scope_validation() {
        assert_eq!(
            SubscriptionScope::parse(&format!("/subscriptions/{SUB}"))
                .unwrap()
                .to_string(),
            format!("/subscriptions/{SUB}")
        );
        assert!(SubscriptionScope::parse(SUB).is_err());
        assert!(
            SubscriptionScope::parse(&format!("/subscriptions/{SUB}/resourceGroups/rg")).is_err()
        );
        assert!(validate_scope(&format!("/subscriptions/{SUB}/resourceGroups/rg")).is_ok());
        assert!(validate_scope("/").is_err());
        assert_eq!(validate_subscription_id(&SUB.to_uppercase()).unwrap(), SUB);
        assert!(validate_subscription_id("{00000000-0000-0000-0000-0000000000aa}").is_err());
    }

    #[test]
    fn deterministic_guids_ignore_case_and_differ_by_input() {
        let role = Uuid::parse_str("4d97b98b-1d4f-4787-a291-c67834d212e7").unwrap();
        let a = role_assignment_name("/subscriptions/X/resourceGroups/RG", role, "ABC");
        let b = role_assignment_name("/subscriptions/x/resourcegroups/rg/", role, "abc");
        assert_eq!(a, b);
        assert_ne!(
            a,
            role_assignment_name("/subscriptions/x/resourcegroups/rg", role, "abd")
        );
        assert_eq!(
            role_definition_guid("/subscriptions/x", "Aiven peering"),
            role_definition_guid("/subscriptions/X/", "Aiven peering")
        );
        assert_ne!(
            role_definition_guid("/subscriptions/x", "a"),
            role_definition_guid("/subscriptions/x", "b")
        );
    }
}
