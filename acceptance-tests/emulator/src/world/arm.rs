//! Azure Resource Manager state: subscriptions, resource groups, virtual networks and their
//! peerings, role definitions and role assignments, long-running operations.
//!
//! Names are stored as created and compared case-insensitively, as ARM does
//! (docs/development/arm.md, 'Versions and the VNet GET'). Delayed effects (RBAC propagation, LRO
//! completion, peering deletion) are timestamps evaluated when observed;
//! [`crate::world::aiven::settle`] applies the ones that change the world.

use std::collections::{BTreeMap, HashMap};
use std::net::Ipv4Addr;
use std::sync::LazyLock;
use std::time::{Duration, Instant};

use serde::Serialize;
use uuid::Uuid;

use crate::knobs::Knobs;
use crate::world::{IdGenerator, Seed, vnet_id};

/// The built-in role "Owner".
pub const OWNER_ROLE_ID: &str = "8e3af657-a8ff-443c-a75c-2fe8c4bcb635";
/// The built-in role "Contributor".
pub const CONTRIBUTOR_ROLE_ID: &str = "b24988ac-6180-42a0-ab88-20f7382dd24c";
/// The built-in role "Reader".
pub const READER_ROLE_ID: &str = "acdd72a7-3385-48ef-bd42-f606fba81ae7";
/// The built-in role "Network Contributor" (docs/development/arm.md, 'Role definitions').
pub const NETWORK_CONTRIBUTOR_ROLE_ID: &str = "4d97b98b-1d4f-4787-a291-c67834d212e7";
/// The built-in role "User Access Administrator".
pub const USER_ACCESS_ADMINISTRATOR_ROLE_ID: &str = "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9";

/// The action a peering needs on the remote virtual network (docs/development/arm.md, 'Virtual
/// network peerings').
pub const PEER_ACTION: &str = "Microsoft.Network/virtualNetworks/peer/action";
/// The action a peering needs on the local virtual network.
pub const PEERING_WRITE_ACTION: &str =
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/write";
/// Deleting a peering.
pub const PEERING_DELETE_ACTION: &str =
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/delete";
/// Reading a peering.
pub const PEERING_READ_ACTION: &str =
    "Microsoft.Network/virtualNetworks/virtualNetworkPeerings/read";
/// Reading a virtual network.
pub const VNET_READ_ACTION: &str = "Microsoft.Network/virtualNetworks/read";

/// All of ARM.
#[derive(Debug, Clone, Serialize)]
pub struct ArmWorld {
    pub subscriptions: Vec<Subscription>,
    /// Custom role definitions (built-ins are fixed, see [`builtin_role_definitions`]).
    pub role_definitions: Vec<RoleDefinition>,
    pub role_assignments: Vec<RoleAssignment>,
    /// Long-running operations by id (bookkeeping, not world state).
    #[serde(skip)]
    pub operations: BTreeMap<String, Operation>,
    /// ARM's request token buckets (docs/development/arm.md, 'Throttling'); enforced only when
    /// switched on.
    #[serde(skip)]
    pub throttling: Throttling,
    #[serde(skip)]
    pub ids: IdGenerator,
}

/// One token bucket's size and refill rate.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct BucketLimits {
    pub capacity: f64,
    pub refill_per_second: f64,
}

/// The kinds of request ARM counts separately.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
pub enum RequestKind {
    Read,
    Write,
    Delete,
}

impl RequestKind {
    /// The word ARM uses in headers and messages.
    pub fn as_str(self) -> &'static str {
        match self {
            RequestKind::Read => "reads",
            RequestKind::Write => "writes",
            RequestKind::Delete => "deletes",
        }
    }
}

/// ARM throttling: a token bucket per (subscription or tenant, principal, request kind)
/// (docs/development/arm.md, 'Throttling'). Buckets are always counted (for the
/// `x-ms-ratelimit-remaining-*` headers); requests are refused with 429 only when `enforce` is on
/// (benchmarks, throttling tests), so the default test world never throttles by itself.
#[derive(Debug, Clone)]
pub struct Throttling {
    pub enforce: bool,
    pub reads: BucketLimits,
    pub writes: BucketLimits,
    pub deletes: BucketLimits,
    buckets: HashMap<(String, String, RequestKind), (f64, Instant)>,
}

impl Default for Throttling {
    fn default() -> Throttling {
        Throttling::azure(false)
    }
}

impl Throttling {
    /// Azure's per-principal limits since 2024: reads 250 (+25/s), writes and deletes 200
    /// (+10/s).
    pub fn azure(enforce: bool) -> Throttling {
        Throttling {
            enforce,
            reads: BucketLimits {
                capacity: 250.0,
                refill_per_second: 25.0,
            },
            writes: BucketLimits {
                capacity: 200.0,
                refill_per_second: 10.0,
            },
            deletes: BucketLimits {
                capacity: 200.0,
                refill_per_second: 10.0,
            },
            buckets: HashMap::new(),
        }
    }

    fn limits(&self, kind: RequestKind) -> BucketLimits {
        match kind {
            RequestKind::Read => self.reads,
            RequestKind::Write => self.writes,
            RequestKind::Delete => self.deletes,
        }
    }

    /// Takes one token for a request at `now`. `Ok(remaining)` when served; `Err(wait)` when
    /// refused (only if enforcing): how long until a token is available.
    pub fn take(
        &mut self,
        scope: &str,
        principal: &str,
        kind: RequestKind,
        now: Instant,
    ) -> Result<u64, Duration> {
        let limits = self.limits(kind);
        let key = (
            scope.to_ascii_lowercase(),
            principal.to_ascii_lowercase(),
            kind,
        );
        let (tokens, updated) = self.buckets.entry(key).or_insert((limits.capacity, now));
        let refilled =
            now.saturating_duration_since(*updated).as_secs_f64() * limits.refill_per_second;
        *tokens = (*tokens + refilled).min(limits.capacity);
        *updated = now;
        if *tokens >= 1.0 {
            *tokens -= 1.0;
        } else if self.enforce {
            let missing = 1.0 - *tokens;
            return Err(Duration::from_secs_f64(
                missing / limits.refill_per_second.max(f64::MIN_POSITIVE),
            ));
        }
        // Whole tokens left, as the header reports them.
        Ok(tokens.floor().max(0.0) as u64)
    }
}

/// A subscription and what lives in it.
#[derive(Debug, Clone, Serialize)]
pub struct Subscription {
    pub subscription_id: String,
    pub tenant_id: String,
    pub display_name: String,
    pub resource_groups: Vec<ResourceGroup>,
}

/// A resource group.
#[derive(Debug, Clone, Serialize)]
pub struct ResourceGroup {
    pub name: String,
    pub location: String,
    pub virtual_networks: Vec<VirtualNetwork>,
}

/// A virtual network.
#[derive(Debug, Clone, Serialize)]
pub struct VirtualNetwork {
    pub name: String,
    pub location: String,
    pub address_prefixes: Vec<String>,
    pub resource_guid: String,
    pub peerings: Vec<VnetPeering>,
}

/// A virtual network peering (one direction).
#[derive(Debug, Clone, Serialize)]
pub struct VnetPeering {
    pub name: String,
    /// `remoteVirtualNetwork.id` exactly as the client sent it.
    pub remote_vnet_id: String,
    pub allow_virtual_network_access: bool,
    pub allow_forwarded_traffic: bool,
    pub allow_gateway_transit: bool,
    pub use_remote_gateways: bool,
    pub resource_guid: String,
    /// The remote address space when the peering was last written.
    pub remote_address_prefixes: Vec<String>,
    /// Incremented on every write, rendered as the etag.
    pub version: u64,
    /// The creating PUT completes at this instant; from then on the peering counts for
    /// `Connected`.
    #[serde(skip)]
    pub provisioned_at: Instant,
    /// An updating PUT keeps provisioningState `Updating` until this instant (the peering stays
    /// connected meanwhile).
    #[serde(skip)]
    pub updating_until: Option<Instant>,
    /// A DELETE was accepted at this instant; the peering disappears `lro_duration` later.
    #[serde(skip)]
    pub deleting_since: Option<Instant>,
    /// The remote side disappeared at this instant while connected: the peering is
    /// `Disconnected` for good (docs/development/arm.md, 'Virtual network peerings').
    #[serde(skip)]
    pub disconnected_at: Option<Instant>,
}

/// `peeringState` of a peering (docs/development/arm.md, 'Virtual network peerings').
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
pub enum PeeringState {
    Initiated,
    Connected,
    Disconnected,
}

impl PeeringState {
    pub fn as_str(self) -> &'static str {
        match self {
            PeeringState::Initiated => "Initiated",
            PeeringState::Connected => "Connected",
            PeeringState::Disconnected => "Disconnected",
        }
    }
}

/// A role definition (built-in or custom).
#[derive(Debug, Clone, Serialize)]
pub struct RoleDefinition {
    /// The GUID (lower case).
    pub name: String,
    pub role_name: String,
    pub description: String,
    /// `BuiltInRole` or `CustomRole`.
    pub role_type: String,
    /// The tenant of a custom role; `None` for built-ins (available everywhere).
    pub tenant_id: Option<String>,
    pub permissions: Vec<Permission>,
    pub assignable_scopes: Vec<String>,
    pub created_on: String,
    pub updated_on: String,
    pub created_by: Option<String>,
    pub updated_by: Option<String>,
}

/// One permission block of a role definition.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
pub struct Permission {
    pub actions: Vec<String>,
    pub not_actions: Vec<String>,
    pub data_actions: Vec<String>,
    pub not_data_actions: Vec<String>,
}

/// A role assignment.
#[derive(Debug, Clone, Serialize)]
pub struct RoleAssignment {
    /// The assignment's GUID as given in the URL.
    pub name: String,
    /// The scope as given in the URL (no trailing slash).
    pub scope: String,
    /// The tenant of the scope's subscription.
    pub tenant_id: String,
    /// The GUID of the role definition (lower case).
    pub role_definition_guid: String,
    pub principal_id: String,
    pub principal_type: String,
    pub description: Option<String>,
    pub created_on: String,
    pub created_by: Option<String>,
    /// When it was created; `None` for seeded assignments, effective "since long ago".
    #[serde(skip)]
    pub created_at: Option<Instant>,
}

impl RoleAssignment {
    /// An assignment of role `role_definition_guid` to the service principal `principal_id` at
    /// `scope` in `tenant_id`, without a description, made at `created_at` (`None`: in effect
    /// since long ago, like the seeded ones).
    pub fn of_service_principal(
        name: impl Into<String>,
        scope: impl Into<String>,
        tenant_id: impl Into<String>,
        role_definition_guid: impl Into<String>,
        principal_id: impl Into<String>,
        created_at: Option<Instant>,
    ) -> RoleAssignment {
        RoleAssignment {
            name: name.into(),
            scope: scope.into(),
            tenant_id: tenant_id.into(),
            role_definition_guid: role_definition_guid.into(),
            principal_id: principal_id.into(),
            principal_type: "ServicePrincipal".to_owned(),
            description: None,
            created_on: SEEDED_TIMESTAMP.to_owned(),
            created_by: None,
            created_at,
        }
    }

    /// Whether the assignment takes effect at `at`, given the propagation delay to apply.
    pub fn effective_at(&self, at: Instant, propagation: Duration) -> bool {
        self.created_at
            .is_none_or(|created| created + propagation <= at)
    }

    /// `{scope}/providers/Microsoft.Authorization/roleAssignments/{name}`.
    pub fn id(&self) -> String {
        format!(
            "{}/providers/Microsoft.Authorization/roleAssignments/{}",
            self.scope, self.name
        )
    }
}

/// What a long-running operation does.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OperationKind {
    PutPeering,
    DeletePeering,
}

/// A long-running operation (docs/development/arm.md, 'Long-running operations (ARM RPC)').
#[derive(Debug, Clone)]
pub struct Operation {
    pub id: String,
    pub subscription_id: String,
    pub location: String,
    pub kind: OperationKind,
    /// The resource the operation works on.
    pub resource_id: String,
    pub started_at: Instant,
    pub completes_at: Instant,
    /// The `Retry-After` the last answer about this operation carried.
    pub retry_after: Option<Duration>,
    /// A poll earlier than this disregards the last `Retry-After`.
    pub poll_not_before: Instant,
}

/// The parts of a parsed VNet id.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VnetRef {
    pub subscription_id: String,
    pub resource_group: String,
    pub name: String,
}

impl VnetRef {
    /// Parses `/subscriptions/{s}/resourceGroups/{rg}/providers/Microsoft.Network/virtualNetworks/{n}`
    /// (literal segments case-insensitive, a trailing slash tolerated).
    pub fn parse(id: &str) -> Option<VnetRef> {
        let segments: Vec<&str> = id.trim_end_matches('/').split('/').collect();
        match segments.as_slice() {
            [
                "",
                subscriptions,
                s,
                resource_groups,
                rg,
                providers,
                namespace,
                kind,
                n,
            ] if subscriptions.eq_ignore_ascii_case("subscriptions")
                && resource_groups.eq_ignore_ascii_case("resourceGroups")
                && providers.eq_ignore_ascii_case("providers")
                && namespace.eq_ignore_ascii_case("Microsoft.Network")
                && kind.eq_ignore_ascii_case("virtualNetworks")
                && !s.is_empty()
                && !rg.is_empty()
                && !n.is_empty() =>
            {
                Some(VnetRef {
                    subscription_id: (*s).to_owned(),
                    resource_group: (*rg).to_owned(),
                    name: (*n).to_owned(),
                })
            }
            _ => None,
        }
    }
}

/// Lower case, without a trailing slash: the form scopes and ids are compared in.
pub fn normalize_scope(scope: &str) -> String {
    scope.trim_end_matches('/').to_ascii_lowercase()
}

/// Whether an assignment at `outer` applies to `inner` (same scope or a descendant).
pub fn scope_covers(outer: &str, inner: &str) -> bool {
    let outer = normalize_scope(outer);
    let inner = normalize_scope(inner);
    outer.is_empty() || inner == outer || inner.starts_with(&format!("{outer}/"))
}

/// Whether an action pattern (with `*` wildcards) matches an action, case-insensitively
/// (docs/development/arm.md, 'Role definitions': action strings are case-insensitive).
pub fn action_matches(pattern: &str, action: &str) -> bool {
    let pattern = pattern.to_ascii_lowercase();
    let action = action.to_ascii_lowercase();
    glob_match(pattern.as_bytes(), action.as_bytes())
}

fn glob_match(pattern: &[u8], text: &[u8]) -> bool {
    // Iterative matcher with backtracking to the last `*`.
    let (mut p, mut t) = (0, 0);
    let mut star: Option<(usize, usize)> = None;
    while t < text.len() {
        if p < pattern.len() && pattern[p] == b'*' {
            star = Some((p, t));
            p += 1;
        } else if p < pattern.len() && pattern[p] == text[t] {
            p += 1;
            t += 1;
        } else if let Some((star_p, star_t)) = star {
            p = star_p + 1;
            t = star_t + 1;
            star = Some((star_p, star_t + 1));
        } else {
            return false;
        }
    }
    pattern[p..].iter().all(|&c| c == b'*')
}

/// The trailing GUID of a role definition id (`.../roleDefinitions/{guid}` or a bare GUID),
/// lower case.
pub fn role_definition_guid(role_definition_id: &str) -> String {
    role_definition_id
        .trim_end_matches('/')
        .rsplit('/')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

/// Parses an IPv4 CIDR into (network, prefix length).
pub fn parse_cidr(cidr: &str) -> Option<(u32, u8)> {
    let (address, length) = cidr.trim().split_once('/')?;
    let address: Ipv4Addr = address.parse().ok()?;
    let length: u8 = length.parse().ok()?;
    if length > 32 {
        return None;
    }
    let mask = if length == 0 {
        0
    } else {
        u32::MAX << (32 - u32::from(length))
    };
    Some((u32::from(address) & mask, length))
}

/// Whether two IPv4 CIDRs share any address.
pub fn cidrs_overlap(a: &str, b: &str) -> bool {
    match (parse_cidr(a), parse_cidr(b)) {
        (Some((net_a, len_a)), Some((net_b, len_b))) => {
            let shorter = len_a.min(len_b);
            let mask = if shorter == 0 {
                0
            } else {
                u32::MAX << (32 - u32::from(shorter))
            };
            net_a & mask == net_b & mask
        }
        _ => false,
    }
}

/// The first pair of overlapping prefixes between two address spaces, if any (the prefix of
/// `first` is returned, as ARM names it in its message).
pub fn first_overlap(first: &[String], second: &[String]) -> Option<String> {
    first
        .iter()
        .find(|a| second.iter().any(|b| cidrs_overlap(a, b)))
        .cloned()
}

/// The built-in role definitions the emulator knows (docs/development/arm.md, 'Role definitions'
/// and the Azure built-in role list). They are resolvable at every scope of every tenant.
pub fn builtin_role_definitions() -> &'static [RoleDefinition] {
    static BUILTINS: LazyLock<Vec<RoleDefinition>> = LazyLock::new(build_builtin_role_definitions);
    &BUILTINS
}

fn build_builtin_role_definitions() -> Vec<RoleDefinition> {
    fn builtin(
        guid: &str,
        role_name: &str,
        description: &str,
        actions: &[&str],
        not_actions: &[&str],
    ) -> RoleDefinition {
        RoleDefinition {
            name: guid.to_owned(),
            role_name: role_name.to_owned(),
            description: description.to_owned(),
            role_type: "BuiltInRole".to_owned(),
            tenant_id: None,
            permissions: vec![Permission {
                actions: actions.iter().map(|a| (*a).to_owned()).collect(),
                not_actions: not_actions.iter().map(|a| (*a).to_owned()).collect(),
                data_actions: Vec::new(),
                not_data_actions: Vec::new(),
            }],
            assignable_scopes: vec!["/".to_owned()],
            created_on: "2015-02-02T21:55:09.8806423Z".to_owned(),
            updated_on: "2024-01-01T00:00:00.0000000Z".to_owned(),
            created_by: None,
            updated_by: None,
        }
    }
    vec![
        builtin(
            OWNER_ROLE_ID,
            "Owner",
            "Grants full access to manage all resources, including the ability to assign roles in Azure RBAC.",
            &["*"],
            &[],
        ),
        builtin(
            CONTRIBUTOR_ROLE_ID,
            "Contributor",
            "Grants full access to manage all resources, but does not allow you to assign roles in Azure RBAC.",
            &["*"],
            &[
                "Microsoft.Authorization/*/Delete",
                "Microsoft.Authorization/*/Write",
                "Microsoft.Authorization/elevateAccess/Action",
            ],
        ),
        builtin(
            READER_ROLE_ID,
            "Reader",
            "View all resources, but does not allow you to make any changes.",
            &["*/read"],
            &[],
        ),
        builtin(
            NETWORK_CONTRIBUTOR_ROLE_ID,
            "Network Contributor",
            "Lets you manage networks, but not access to them.",
            &[
                "Microsoft.Authorization/*/read",
                "Microsoft.Insights/alertRules/*",
                "Microsoft.Network/*",
                "Microsoft.ResourceHealth/availabilityStatuses/read",
                "Microsoft.Resources/deployments/*",
                "Microsoft.Resources/subscriptions/resourceGroups/read",
                "Microsoft.Support/*",
            ],
            &[],
        ),
        builtin(
            USER_ACCESS_ADMINISTRATOR_ROLE_ID,
            "User Access Administrator",
            "Lets you manage user access to Azure resources.",
            &["*/read", "Microsoft.Authorization/*", "Microsoft.Support/*"],
            &[],
        ),
    ]
}

/// A fixed, RFC 3339 timestamp for seeded objects, so that snapshots compare equal.
const SEEDED_TIMESTAMP: &str = "2024-01-01T00:00:00.0000000Z";

impl ArmWorld {
    /// The customer and Aiven subscriptions, resource groups and VNets of `seed`, and the
    /// operator's Owner assignment on the customer subscription.
    pub fn seeded(seed: &Seed, _now: Instant) -> ArmWorld {
        let mut world = ArmWorld {
            subscriptions: Vec::new(),
            role_definitions: Vec::new(),
            role_assignments: Vec::new(),
            operations: BTreeMap::new(),
            throttling: Throttling::default(),
            ids: IdGenerator::new("arm"),
        };
        world.subscriptions.push(Subscription {
            subscription_id: seed.customer_subscription_id.clone(),
            tenant_id: seed.customer_tenant_id.clone(),
            display_name: "Contoso Production".to_owned(),
            resource_groups: vec![ResourceGroup {
                name: seed.customer_resource_group.clone(),
                location: seed.location.clone(),
                virtual_networks: vec![VirtualNetwork {
                    name: seed.customer_vnet_name.clone(),
                    location: seed.location.clone(),
                    address_prefixes: vec![seed.customer_vnet_cidr.clone()],
                    resource_guid: "c1000000-0000-4000-8000-0000000000b1".to_owned(),
                    peerings: Vec::new(),
                }],
            }],
        });
        world.subscriptions.push(Subscription {
            subscription_id: seed.aiven_subscription_id.clone(),
            tenant_id: seed.aiven_tenant_id.clone(),
            display_name: "Aiven acme-prod".to_owned(),
            resource_groups: vec![ResourceGroup {
                name: seed.aiven_resource_group.clone(),
                location: seed.location.clone(),
                virtual_networks: vec![VirtualNetwork {
                    name: seed.aiven_vnet_name.clone(),
                    location: seed.location.clone(),
                    address_prefixes: vec![seed.aiven_vnet_cidr.clone()],
                    resource_guid: "a1000000-0000-4000-8000-0000000000b1".to_owned(),
                    peerings: Vec::new(),
                }],
            }],
        });
        // Owner of each subscription: the operator's identity and Aiven's.
        for (name, subscription, tenant, principal) in [
            (
                "c1000000-0000-4000-8000-0000000000c1",
                &seed.customer_subscription_id,
                &seed.customer_tenant_id,
                &seed.operator_sp_object_id,
            ),
            (
                "a1000000-0000-4000-8000-0000000000c1",
                &seed.aiven_subscription_id,
                &seed.aiven_tenant_id,
                &seed.aiven_sp_object_id,
            ),
        ] {
            let scope = format!("/subscriptions/{subscription}");
            world
                .role_assignments
                .push(RoleAssignment::of_service_principal(
                    name,
                    scope,
                    tenant,
                    OWNER_ROLE_ID,
                    principal,
                    None,
                ));
        }
        world
    }

    // ----- lookups -------------------------------------------------------------------------

    /// The subscription `id` (case-insensitive).
    pub fn subscription(&self, id: &str) -> Option<&Subscription> {
        self.subscriptions
            .iter()
            .find(|s| s.subscription_id.eq_ignore_ascii_case(id))
    }

    /// The tenant that owns subscription `id`.
    pub fn tenant_of_subscription(&self, id: &str) -> Option<&str> {
        self.subscription(id).map(|s| s.tenant_id.as_str())
    }

    /// The resource group (case-insensitive).
    pub fn resource_group(&self, subscription_id: &str, name: &str) -> Option<&ResourceGroup> {
        self.subscription(subscription_id)?
            .resource_groups
            .iter()
            .find(|rg| rg.name.eq_ignore_ascii_case(name))
    }

    /// The virtual network, names compared case-insensitively (what ARM does).
    pub fn vnet(
        &self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
    ) -> Option<&VirtualNetwork> {
        self.resource_group(subscription_id, resource_group)?
            .virtual_networks
            .iter()
            .find(|v| v.name.eq_ignore_ascii_case(name))
    }

    /// The virtual network only if every name matches exactly, case included (what a
    /// case-sensitive string comparison on Aiven's side needs).
    pub fn vnet_exact(
        &self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
    ) -> Option<&VirtualNetwork> {
        self.subscriptions
            .iter()
            .find(|s| s.subscription_id == subscription_id)?
            .resource_groups
            .iter()
            .find(|rg| rg.name == resource_group)?
            .virtual_networks
            .iter()
            .find(|v| v.name == name)
    }

    /// The virtual network with ARM id `id` (case-insensitive).
    pub fn vnet_by_id(&self, id: &str) -> Option<&VirtualNetwork> {
        let parsed = VnetRef::parse(id)?;
        self.vnet(
            &parsed.subscription_id,
            &parsed.resource_group,
            &parsed.name,
        )
    }

    fn vnet_mut(
        &mut self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
    ) -> Option<&mut VirtualNetwork> {
        self.subscriptions
            .iter_mut()
            .find(|s| s.subscription_id.eq_ignore_ascii_case(subscription_id))?
            .resource_groups
            .iter_mut()
            .find(|rg| rg.name.eq_ignore_ascii_case(resource_group))?
            .virtual_networks
            .iter_mut()
            .find(|v| v.name.eq_ignore_ascii_case(name))
    }

    /// The virtual network with ARM id `id`, mutable.
    pub fn vnet_by_id_mut(&mut self, id: &str) -> Option<&mut VirtualNetwork> {
        let parsed = VnetRef::parse(id)?;
        self.vnet_mut(
            &parsed.subscription_id,
            &parsed.resource_group,
            &parsed.name,
        )
    }

    /// The canonical ARM id (stored case) of the VNet with id `id`.
    pub fn canonical_vnet_id(&self, id: &str) -> Option<String> {
        let parsed = VnetRef::parse(id)?;
        let subscription = self.subscription(&parsed.subscription_id)?;
        let group = self.resource_group(&parsed.subscription_id, &parsed.resource_group)?;
        let vnet = self.vnet(
            &parsed.subscription_id,
            &parsed.resource_group,
            &parsed.name,
        )?;
        Some(vnet_id(
            &subscription.subscription_id,
            &group.name,
            &vnet.name,
        ))
    }

    /// The peering `name` of the VNet with id `vnet_id` (case-insensitive).
    pub fn peering(&self, vnet_id: &str, name: &str) -> Option<&VnetPeering> {
        self.vnet_by_id(vnet_id)?
            .peerings
            .iter()
            .find(|p| p.name.eq_ignore_ascii_case(name))
    }

    /// The peering on the remote side of `peering` (owned by the VNet `local_vnet_id`) that
    /// points back at the local VNet, if any.
    pub fn reverse_peering(
        &self,
        local_vnet_id: &str,
        peering: &VnetPeering,
    ) -> Option<&VnetPeering> {
        let remote = self.vnet_by_id(&peering.remote_vnet_id)?;
        let local = normalize_scope(local_vnet_id);
        remote
            .peerings
            .iter()
            .find(|p| normalize_scope(&p.remote_vnet_id) == local)
    }

    /// Since when both directions of `peering` exist and are provisioned (and neither is being
    /// deleted), i.e. since when it is `Connected`; `None` when it is not (yet) connected at
    /// `now`.
    pub fn connected_since(
        &self,
        local_vnet_id: &str,
        peering: &VnetPeering,
        now: Instant,
    ) -> Option<Instant> {
        if peering.disconnected_at.is_some() || peering.deleting_since.is_some() {
            return None;
        }
        let reverse = self.reverse_peering(local_vnet_id, peering)?;
        if reverse.disconnected_at.is_some() || reverse.deleting_since.is_some() {
            return None;
        }
        let since = peering.provisioned_at.max(reverse.provisioned_at);
        (since <= now).then_some(since)
    }

    /// `peeringState` of `peering` at `now`.
    /// `peeringSyncLevel` of a connected peering (docs/development/arm.md, 'Virtual network
    /// peerings'), as Azure reports it: `LocalNotInSync` when the remote VNet's address space
    /// changed since this peering last learnt it (this peering needs the sync),
    /// `RemoteNotInSync` when the local VNet's changed since the remote side's peering last
    /// learnt it (the remote side needs the sync), both: `LocalAndRemoteNotInSync`.
    pub fn peering_sync_level(&self, local_vnet_id: &str, peering: &VnetPeering) -> &'static str {
        let remote_stale = self
            .vnet_by_id(&peering.remote_vnet_id)
            .is_some_and(|remote| {
                !same_prefixes(&remote.address_prefixes, &peering.remote_address_prefixes)
            });
        let local_stale = match (
            self.vnet_by_id(local_vnet_id),
            self.reverse_peering(local_vnet_id, peering),
        ) {
            (Some(local), Some(reverse)) => {
                !same_prefixes(&local.address_prefixes, &reverse.remote_address_prefixes)
            }
            _ => false,
        };
        // `local_stale`: the remote side's view of this VNet is old; `remote_stale`: this
        // peering's view of the remote VNet is old.
        match (local_stale, remote_stale) {
            (false, false) => "FullyInSync",
            (false, true) => "LocalNotInSync",
            (true, false) => "RemoteNotInSync",
            (true, true) => "LocalAndRemoteNotInSync",
        }
    }

    /// A write with `syncRemoteAddressSpace=true` of the peering `name` on `local_vnet_id`: that
    /// peering learns the remote VNet's current address space. Only that one: the peering on
    /// the remote VNet learns a change of this VNet's space only from a sync of its own.
    pub fn sync_address_spaces(&mut self, local_vnet_id: &str, name: &str) {
        let Some(remote_vnet_id) = self
            .vnet_by_id(local_vnet_id)
            .and_then(|local| {
                local
                    .peerings
                    .iter()
                    .find(|p| p.name.eq_ignore_ascii_case(name))
            })
            .map(|peering| peering.remote_vnet_id.clone())
        else {
            return;
        };
        let Some(remote_prefixes) = self
            .vnet_by_id(&remote_vnet_id)
            .map(|remote| remote.address_prefixes.clone())
        else {
            return;
        };
        if let Some(local) = self.vnet_by_id_mut(local_vnet_id)
            && let Some(peering) = local
                .peerings
                .iter_mut()
                .find(|p| p.name.eq_ignore_ascii_case(name))
        {
            peering.remote_address_prefixes = remote_prefixes;
        }
    }

    pub fn peering_state(
        &self,
        local_vnet_id: &str,
        peering: &VnetPeering,
        now: Instant,
    ) -> PeeringState {
        if peering.disconnected_at.is_some() {
            PeeringState::Disconnected
        } else if self.connected_since(local_vnet_id, peering, now).is_some() {
            PeeringState::Connected
        } else {
            PeeringState::Initiated
        }
    }

    /// Custom role definitions of `tenant_id` plus the built-ins.
    pub fn role_definitions_of_tenant(&self, tenant_id: &str) -> Vec<RoleDefinition> {
        let mut all = builtin_role_definitions().to_vec();
        all.extend(
            self.role_definitions
                .iter()
                .filter(|d| {
                    d.tenant_id
                        .as_deref()
                        .is_some_and(|t| t.eq_ignore_ascii_case(tenant_id))
                })
                .cloned(),
        );
        all
    }

    /// The role definition `guid` as seen from `tenant_id` (built-in, or custom of that tenant).
    pub fn role_definition(&self, tenant_id: &str, guid: &str) -> Option<&RoleDefinition> {
        let guid = guid.to_ascii_lowercase();
        if let Some(builtin) = builtin_role_definitions().iter().find(|d| d.name == guid) {
            return Some(builtin);
        }
        self.role_definitions.iter().find(|d| {
            d.name == guid
                && d.tenant_id
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(tenant_id))
        })
    }

    /// Whether `principal_id` may perform `action` on `scope` at `at`, counting only assignments
    /// older than `propagation` (pass [`Duration::ZERO`] to count every assignment). Evaluates
    /// inheritance (subscription → resource group → resource), wildcards and notActions.
    pub fn principal_can(
        &self,
        principal_id: &str,
        action: &str,
        scope: &str,
        at: Instant,
        propagation: Duration,
    ) -> bool {
        self.role_assignments.iter().any(|assignment| {
            assignment.principal_id.eq_ignore_ascii_case(principal_id)
                && scope_covers(&assignment.scope, scope)
                && assignment.effective_at(at, propagation)
                && self
                    .role_definition(&assignment.tenant_id, &assignment.role_definition_guid)
                    .is_some_and(|definition| definition_allows(definition, action))
        })
    }

    /// Whether `principal_id` holds any assignment at, above or below `scope` (what makes a
    /// subscription visible to it).
    pub fn principal_has_any_assignment_within(&self, principal_id: &str, scope: &str) -> bool {
        self.role_assignments.iter().any(|assignment| {
            assignment.principal_id.eq_ignore_ascii_case(principal_id)
                && (scope_covers(&assignment.scope, scope)
                    || scope_covers(scope, &assignment.scope))
        })
    }

    /// A peering operation on VNet `vnet_id` still running at `now` (the Network resource
    /// provider runs one at a time per VNet): (operation id, when it ends).
    pub fn running_operation_on_vnet(
        &self,
        vnet_id: &str,
        now: Instant,
    ) -> Option<(&Operation, Instant)> {
        let prefix = format!("{}/virtualnetworkpeerings/", normalize_scope(vnet_id));
        self.operations
            .values()
            .filter(|op| {
                op.completes_at > now && normalize_scope(&op.resource_id).starts_with(&prefix)
            })
            .map(|op| (op, op.completes_at))
            .max_by_key(|(_, ends)| *ends)
    }

    // ----- changes -------------------------------------------------------------------------

    /// Adds a VNet (test helper: a second VNet, a VNet in a new resource group or subscription
    /// of an existing tenant). Creates the resource group if missing. Returns the VNet id.
    pub fn add_vnet(
        &mut self,
        subscription_id: &str,
        resource_group: &str,
        name: &str,
        location: &str,
        address_prefixes: &[&str],
    ) -> Option<String> {
        let resource_guid = self.ids.next_id();
        let subscription = self
            .subscriptions
            .iter_mut()
            .find(|s| s.subscription_id.eq_ignore_ascii_case(subscription_id))?;
        if !subscription
            .resource_groups
            .iter()
            .any(|rg| rg.name.eq_ignore_ascii_case(resource_group))
        {
            subscription.resource_groups.push(ResourceGroup {
                name: resource_group.to_owned(),
                location: location.to_owned(),
                virtual_networks: Vec::new(),
            });
        }
        let group = subscription
            .resource_groups
            .iter_mut()
            .find(|rg| rg.name.eq_ignore_ascii_case(resource_group))?;
        group
            .virtual_networks
            .retain(|v| !v.name.eq_ignore_ascii_case(name));
        group.virtual_networks.push(VirtualNetwork {
            name: name.to_owned(),
            location: location.to_owned(),
            address_prefixes: address_prefixes.iter().map(|p| (*p).to_owned()).collect(),
            resource_guid,
            peerings: Vec::new(),
        });
        let subscription_id = subscription.subscription_id.clone();
        let group_name = group.name.clone();
        Some(vnet_id(&subscription_id, &group_name, name))
    }

    /// Adds a subscription owned by `tenant_id` (test helper).
    pub fn add_subscription(&mut self, subscription_id: &str, tenant_id: &str, display_name: &str) {
        self.subscriptions
            .retain(|s| !s.subscription_id.eq_ignore_ascii_case(subscription_id));
        self.subscriptions.push(Subscription {
            subscription_id: subscription_id.to_owned(),
            tenant_id: tenant_id.to_owned(),
            display_name: display_name.to_owned(),
            resource_groups: Vec::new(),
        });
    }

    /// Removes a VNet and its peerings at `at` (test helper). Peerings of other VNets that were
    /// connected to it become `Disconnected`.
    pub fn remove_vnet(&mut self, vnet_id: &str, at: Instant) -> bool {
        let Some(parsed) = VnetRef::parse(vnet_id) else {
            return false;
        };
        let names: Vec<String> = match self.vnet(
            &parsed.subscription_id,
            &parsed.resource_group,
            &parsed.name,
        ) {
            Some(vnet) => vnet.peerings.iter().map(|p| p.name.clone()).collect(),
            None => return false,
        };
        for name in names {
            self.remove_peering(vnet_id, &name, at);
        }
        // A peering elsewhere pointing at the removed VNet can no longer connect.
        let removed = normalize_scope(vnet_id);
        for subscription in &mut self.subscriptions {
            for group in &mut subscription.resource_groups {
                for vnet in &mut group.virtual_networks {
                    for peering in &mut vnet.peerings {
                        if normalize_scope(&peering.remote_vnet_id) == removed
                            && peering.disconnected_at.is_none()
                        {
                            peering.disconnected_at = Some(at);
                        }
                    }
                }
                group.virtual_networks.retain(|v| {
                    !(subscription
                        .subscription_id
                        .eq_ignore_ascii_case(&parsed.subscription_id)
                        && group.name.eq_ignore_ascii_case(&parsed.resource_group)
                        && v.name.eq_ignore_ascii_case(&parsed.name))
                });
            }
        }
        true
    }

    /// Removes a peering at `at` (the end of its DELETE, or an out-of-band removal by a test).
    /// The reverse peering, if it was connected, becomes `Disconnected` (docs/development/arm.md,
    /// 'Virtual network peerings').
    pub fn remove_peering(
        &mut self,
        vnet_id: &str,
        name: &str,
        at: Instant,
    ) -> Option<VnetPeering> {
        let (reverse_vnet, connected) = {
            let peering = self.peering(vnet_id, name)?;
            let connected = self
                .reverse_peering(vnet_id, peering)
                .is_some_and(|reverse| {
                    reverse.disconnected_at.is_none()
                        && reverse.provisioned_at.max(peering.provisioned_at) <= at
                })
                && peering.disconnected_at.is_none();
            (peering.remote_vnet_id.clone(), connected)
        };
        let vnet = self.vnet_by_id_mut(vnet_id)?;
        let position = vnet
            .peerings
            .iter()
            .position(|p| p.name.eq_ignore_ascii_case(name))?;
        let removed = vnet.peerings.remove(position);
        if connected {
            let local = normalize_scope(vnet_id);
            if let Some(remote) = self.vnet_by_id_mut(&reverse_vnet) {
                for peering in &mut remote.peerings {
                    if normalize_scope(&peering.remote_vnet_id) == local
                        && peering.disconnected_at.is_none()
                    {
                        peering.disconnected_at = Some(at);
                    }
                }
            }
        }
        Some(removed)
    }

    /// The earliest peering deletion that has completed by `now` and not yet been applied:
    /// (when, VNet id, peering name).
    pub fn next_peering_removal(
        &self,
        knobs: &Knobs,
        now: Instant,
    ) -> Option<(Instant, String, String)> {
        let mut next: Option<(Instant, String, String)> = None;
        for subscription in &self.subscriptions {
            for group in &subscription.resource_groups {
                for vnet in &group.virtual_networks {
                    for peering in &vnet.peerings {
                        if let Some(since) = peering.deleting_since {
                            let due = since + knobs.lro_duration;
                            if due <= now && next.as_ref().is_none_or(|(at, _, _)| due < *at) {
                                next = Some((
                                    due,
                                    vnet_id(&subscription.subscription_id, &group.name, &vnet.name),
                                    peering.name.clone(),
                                ));
                            }
                        }
                    }
                }
            }
        }
        next
    }

    /// Creates or replaces a role assignment directly (used by Aiven's side and by tests).
    pub fn insert_role_assignment(&mut self, assignment: RoleAssignment) {
        self.role_assignments
            .retain(|existing| !existing.name.eq_ignore_ascii_case(&assignment.name));
        self.role_assignments.push(assignment);
    }

    /// Removes the role assignment named `name`. Returns it.
    pub fn remove_role_assignment(&mut self, name: &str) -> Option<RoleAssignment> {
        let position = self
            .role_assignments
            .iter()
            .position(|a| a.name.eq_ignore_ascii_case(name))?;
        Some(self.role_assignments.remove(position))
    }

    /// Removes the custom role definition `guid` of `tenant_id` (test helper: deleted out of
    /// band). Returns it.
    pub fn remove_role_definition(
        &mut self,
        tenant_id: &str,
        guid: &str,
    ) -> Option<RoleDefinition> {
        let position = self.role_definitions.iter().position(|d| {
            d.name.eq_ignore_ascii_case(guid)
                && d.tenant_id
                    .as_deref()
                    .is_some_and(|t| t.eq_ignore_ascii_case(tenant_id))
        })?;
        Some(self.role_definitions.remove(position))
    }

    /// A deterministic name for an assignment of `role_guid` to `principal_id` at `scope`
    /// (how the emulator names assignments it makes on behalf of Aiven).
    pub fn derived_assignment_name(scope: &str, role_guid: &str, principal_id: &str) -> String {
        let key = format!(
            "{}|{}|{}",
            normalize_scope(scope),
            role_guid.to_ascii_lowercase(),
            principal_id.to_ascii_lowercase()
        );
        Uuid::new_v5(&Uuid::NAMESPACE_URL, key.as_bytes())
            .hyphenated()
            .to_string()
    }
}

/// Whether a role definition grants `action` (any permission block allows it and none of that
/// block's notActions excludes it).
pub fn definition_allows(definition: &RoleDefinition, action: &str) -> bool {
    definition.permissions.iter().any(|permission| {
        permission
            .actions
            .iter()
            .any(|pattern| action_matches(pattern, action))
            && !permission
                .not_actions
                .iter()
                .any(|pattern| action_matches(pattern, action))
    })
}

/// Whether two address spaces hold the same prefixes, in any order.
fn same_prefixes(a: &[String], b: &[String]) -> bool {
    let mut a: Vec<String> = a.iter().map(|p| p.to_ascii_lowercase()).collect();
    let mut b: Vec<String> = b.iter().map(|p| p.to_ascii_lowercase()).collect();
    a.sort();
    b.sort();
    a == b
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_match_case_insensitively() {
        assert!(action_matches(
            "*",
            "Microsoft.Network/virtualNetworks/peer/action"
        ));
        assert!(action_matches(
            "Microsoft.Network/*",
            "microsoft.network/virtualnetworks/peer/action"
        ));
        assert!(action_matches(
            "*/read",
            "Microsoft.Network/virtualNetworks/read"
        ));
        assert!(action_matches(
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(!action_matches(
            "Microsoft.Authorization/*/Write",
            "Microsoft.Authorization/roleAssignments/read"
        ));
        assert!(!action_matches(
            "Microsoft.Network/virtualNetworks/peer/action",
            "Microsoft.Network/virtualNetworks/write"
        ));
    }

    #[test]
    fn contributor_cannot_write_role_assignments() {
        let contributor = builtin_role_definitions()
            .iter()
            .find(|d| d.name == CONTRIBUTOR_ROLE_ID)
            .expect("built-in");
        assert!(definition_allows(contributor, PEERING_WRITE_ACTION));
        assert!(!definition_allows(
            contributor,
            "Microsoft.Authorization/roleAssignments/write"
        ));
        assert!(definition_allows(
            contributor,
            "Microsoft.Authorization/roleAssignments/read"
        ));
    }

    #[test]
    fn scopes_are_inherited_downwards_only() {
        let sub = "/subscriptions/S";
        let vnet =
            "/subscriptions/s/resourceGroups/RG/providers/Microsoft.Network/virtualNetworks/v";
        assert!(scope_covers(sub, vnet));
        assert!(!scope_covers(vnet, sub));
        assert!(!scope_covers(
            "/subscriptions/s2",
            "/subscriptions/s23/resourceGroups/x"
        ));
    }

    #[test]
    fn cidr_overlap() {
        assert!(cidrs_overlap("10.20.0.0/16", "10.20.0.0/24"));
        assert!(!cidrs_overlap("10.10.0.0/16", "10.20.0.0/24"));
        assert!(cidrs_overlap("10.20.0.128/25", "10.20.0.0/24"));
    }

    #[test]
    fn vnet_ids_parse_case_insensitively() {
        let parsed = VnetRef::parse(
            "/subscriptions/s/resourcegroups/rg-A/providers/microsoft.network/virtualnetworks/v/",
        )
        .expect("parses");
        assert_eq!(parsed.resource_group, "rg-A");
        assert!(VnetRef::parse("/subscriptions/s/resourceGroups/rg").is_none());
    }
}
