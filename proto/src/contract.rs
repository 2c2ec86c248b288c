//! The wire contract (`fixtures/contract/pluginapi-v1.json`) and a field-by-field
//! comparison of it with the compiled descriptors.
//!
//! The contract is protoc's view of the upstream `.proto` files rendered as JSON. Our
//! `proto/` tree must describe exactly the same wire format: every file, message, field
//! (number, name, JSON name, label, type, kind, wire type), map entry, enum value, service,
//! rpc path and streaming flag. [`compare`] lists every difference; the crate's tests
//! require that list to be empty and show that a single changed field is caught.

use std::collections::{BTreeMap, BTreeSet};

use prost_reflect::{
    Cardinality, DescriptorPool, FieldDescriptor, Kind, MessageDescriptor, ServiceDescriptor,
};
use serde::Deserialize;

/// The contract JSON shipped in the repository, embedded at compile time.
pub const CONTRACT_JSON: &str = include_str!("../../fixtures/contract/pluginapi-v1.json");

/// The parts of the contract that describe the wire format.
#[derive(Debug, Clone, Deserialize)]
pub struct Contract {
    pub contract_version: u32,
    pub package: String,
    pub files: Vec<ContractFile>,
    pub services: Vec<ContractService>,
    pub messages: Vec<ContractMessage>,
    pub enums: Vec<ContractEnum>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ContractFile {
    pub name: String,
    pub package: String,
    pub syntax: String,
    pub imports: Vec<String>,
    pub services: Vec<String>,
    pub messages: Vec<String>,
    pub enums: Vec<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ContractService {
    pub full_name: String,
    pub name: String,
    pub file: String,
    pub rpc_count: usize,
    pub rpcs: Vec<ContractRpc>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ContractRpc {
    pub name: String,
    pub path: String,
    pub request_type: String,
    pub response_type: String,
    pub client_streaming: bool,
    pub server_streaming: bool,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ContractMessage {
    pub full_name: String,
    pub name: String,
    pub file: String,
    pub field_count: usize,
    pub fields: Vec<ContractField>,
    pub oneofs: Vec<String>,
    pub nested_messages: Vec<serde_json::Value>,
    pub nested_enums: Vec<serde_json::Value>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContractField {
    pub number: u32,
    pub name: String,
    pub json_name: String,
    pub label: String,
    #[serde(rename = "type")]
    pub type_name: String,
    pub kind: String,
    pub wire_type: u32,
    pub oneof: Option<String>,
    #[serde(default)]
    pub map_key_type: Option<String>,
    #[serde(default)]
    pub map_value_type: Option<String>,
    #[serde(default)]
    pub map_value_kind: Option<String>,
    #[serde(default)]
    pub map_entry_message: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
pub struct ContractEnum {
    pub full_name: String,
    pub name: String,
    pub file: String,
    pub values: Vec<ContractEnumValue>,
}

#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
pub struct ContractEnumValue {
    pub name: String,
    pub number: i32,
}

impl Contract {
    /// Parses a contract document.
    pub fn parse(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The contract embedded in this crate.
    pub fn embedded() -> Self {
        Self::parse(CONTRACT_JSON).expect("fixtures/contract/pluginapi-v1.json parses")
    }

    /// The service with this full name.
    pub fn service(&self, full_name: &str) -> Option<&ContractService> {
        self.services.iter().find(|s| s.full_name == full_name)
    }
}

/// One way in which the compiled descriptors and the contract disagree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Difference {
    /// What differs, e.g. `message mattermost.pluginapi.v1.User field 7`.
    pub subject: String,
    /// What the contract says.
    pub contract: String,
    /// What the compiled `proto/` says.
    pub compiled: String,
}

impl std::fmt::Display for Difference {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: contract has {}, proto/ has {}",
            self.subject, self.contract, self.compiled
        )
    }
}

struct Diffs(Vec<Difference>);

impl Diffs {
    fn check<T: std::fmt::Debug + PartialEq>(&mut self, subject: &str, contract: T, compiled: T) {
        if contract != compiled {
            self.0.push(Difference {
                subject: subject.to_string(),
                contract: format!("{contract:?}"),
                compiled: format!("{compiled:?}"),
            });
        }
    }

    fn missing(&mut self, subject: String, on_contract_side: bool) {
        let (contract, compiled) = if on_contract_side {
            ("nothing".to_string(), "it".to_string())
        } else {
            ("it".to_string(), "nothing".to_string())
        };
        self.0.push(Difference {
            subject,
            contract,
            compiled,
        });
    }
}

/// Compares every file, service, message and enum of the contract's package with the
/// compiled descriptors and returns all differences (empty when wire-identical).
pub fn compare(contract: &Contract, pool: &DescriptorPool) -> Vec<Difference> {
    let mut d = Diffs(Vec::new());
    let package = contract.package.as_str();
    let in_package = |name: &str| name.starts_with(&format!("{package}."));

    // Files.
    let compiled_files: BTreeMap<String, _> = pool
        .files()
        .filter(|f| f.package_name() == package)
        .map(|f| (f.name().to_string(), f))
        .collect();
    let contract_files: BTreeSet<&str> = contract.files.iter().map(|f| f.name.as_str()).collect();
    for name in compiled_files.keys() {
        if !contract_files.contains(name.as_str()) {
            d.missing(format!("file {name}"), true);
        }
    }
    for file in &contract.files {
        let subject = format!("file {}", file.name);
        let Some(compiled) = compiled_files.get(&file.name) else {
            d.missing(subject, false);
            continue;
        };
        let proto = compiled.file_descriptor_proto();
        d.check(
            &format!("{subject} package"),
            file.package.as_str(),
            proto.package(),
        );
        d.check(
            &format!("{subject} syntax"),
            file.syntax.as_str(),
            proto.syntax(),
        );
        d.check(
            &format!("{subject} imports"),
            file.imports.clone(),
            proto.dependency.clone(),
        );
        d.check(
            &format!("{subject} messages"),
            file.messages.clone(),
            compiled
                .messages()
                .map(|m| m.full_name().to_string())
                .collect::<Vec<_>>(),
        );
        d.check(
            &format!("{subject} enums"),
            file.enums.clone(),
            compiled
                .enums()
                .map(|e| e.full_name().to_string())
                .collect::<Vec<_>>(),
        );
        d.check(
            &format!("{subject} services"),
            file.services.clone(),
            compiled
                .services()
                .map(|s| s.full_name().to_string())
                .collect::<Vec<_>>(),
        );
    }

    // Services.
    let compiled_services: BTreeMap<String, ServiceDescriptor> = pool
        .services()
        .filter(|s| in_package(s.full_name()))
        .map(|s| (s.full_name().to_string(), s))
        .collect();
    for name in compiled_services.keys() {
        if contract.service(name).is_none() {
            d.missing(format!("service {name}"), true);
        }
    }
    for service in &contract.services {
        let subject = format!("service {}", service.full_name);
        let Some(compiled) = compiled_services.get(&service.full_name) else {
            d.missing(subject, false);
            continue;
        };
        d.check(
            &format!("{subject} name"),
            service.name.as_str(),
            compiled.name(),
        );
        d.check(
            &format!("{subject} file"),
            service.file.as_str(),
            compiled.parent_file().name(),
        );
        d.check(
            &format!("{subject} rpc count"),
            service.rpc_count,
            compiled.methods().len(),
        );
        d.check(
            &format!("{subject} rpc count (listed)"),
            service.rpc_count,
            service.rpcs.len(),
        );
        let compiled_rpcs: Vec<ContractRpc> = compiled
            .methods()
            .map(|m| ContractRpc {
                name: m.name().to_string(),
                path: format!("/{}/{}", compiled.full_name(), m.name()),
                request_type: m.input().full_name().to_string(),
                response_type: m.output().full_name().to_string(),
                client_streaming: m.is_client_streaming(),
                server_streaming: m.is_server_streaming(),
            })
            .collect();
        let by_name: BTreeMap<&str, &ContractRpc> =
            compiled_rpcs.iter().map(|r| (r.name.as_str(), r)).collect();
        for rpc in &service.rpcs {
            let subject = format!("rpc {}", rpc.path);
            let Some(c) = by_name.get(rpc.name.as_str()) else {
                d.missing(subject, false);
                continue;
            };
            d.check(
                &format!("{subject} path"),
                rpc.path.as_str(),
                c.path.as_str(),
            );
            d.check(
                &format!("{subject} request"),
                rpc.request_type.as_str(),
                c.request_type.as_str(),
            );
            d.check(
                &format!("{subject} response"),
                rpc.response_type.as_str(),
                c.response_type.as_str(),
            );
            d.check(
                &format!("{subject} client_streaming"),
                rpc.client_streaming,
                c.client_streaming,
            );
            d.check(
                &format!("{subject} server_streaming"),
                rpc.server_streaming,
                c.server_streaming,
            );
        }
        let listed: BTreeSet<&str> = service.rpcs.iter().map(|r| r.name.as_str()).collect();
        for name in by_name.keys() {
            if !listed.contains(name) {
                d.missing(format!("rpc /{}/{name}", service.full_name), true);
            }
        }
    }

    // Messages (map entry messages are synthetic and compared through their fields).
    let compiled_messages: BTreeMap<String, MessageDescriptor> = pool
        .all_messages()
        .filter(|m| in_package(m.full_name()) && !m.is_map_entry())
        .map(|m| (m.full_name().to_string(), m))
        .collect();
    let contract_messages: BTreeSet<&str> = contract
        .messages
        .iter()
        .map(|m| m.full_name.as_str())
        .collect();
    for name in compiled_messages.keys() {
        if !contract_messages.contains(name.as_str()) {
            d.missing(format!("message {name}"), true);
        }
    }
    for message in &contract.messages {
        let subject = format!("message {}", message.full_name);
        let Some(compiled) = compiled_messages.get(&message.full_name) else {
            d.missing(subject, false);
            continue;
        };
        d.check(
            &format!("{subject} name"),
            message.name.as_str(),
            compiled.name(),
        );
        d.check(
            &format!("{subject} file"),
            message.file.as_str(),
            compiled.parent_file().name(),
        );
        d.check(
            &format!("{subject} field count"),
            message.field_count,
            compiled.fields().len(),
        );
        let real_oneofs: Vec<String> = compiled
            .oneofs()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.name().to_string())
            .collect();
        d.check(
            &format!("{subject} oneofs"),
            message.oneofs.clone(),
            real_oneofs,
        );
        let nested = compiled
            .child_messages()
            .filter(|m| !m.is_map_entry())
            .count();
        d.check(
            &format!("{subject} nested messages"),
            message.nested_messages.len(),
            nested,
        );
        d.check(
            &format!("{subject} nested enums"),
            message.nested_enums.len(),
            compiled.child_enums().count(),
        );
        let compiled_fields: BTreeMap<u32, ContractField> = compiled
            .fields()
            .map(|f| (f.number(), describe_field(&f)))
            .collect();
        for field in &message.fields {
            let subject = format!("{subject} field {} ({})", field.number, field.name);
            match compiled_fields.get(&field.number) {
                Some(c) => d.check(&subject, field, c),
                None => d.missing(subject, false),
            }
        }
        let listed: BTreeSet<u32> = message.fields.iter().map(|f| f.number).collect();
        for (number, field) in &compiled_fields {
            if !listed.contains(number) {
                d.missing(format!("{subject} field {number} ({})", field.name), true);
            }
        }
    }

    // Enums.
    let compiled_enums: BTreeMap<String, _> = pool
        .all_enums()
        .filter(|e| in_package(e.full_name()))
        .map(|e| (e.full_name().to_string(), e))
        .collect();
    let contract_enums: BTreeSet<&str> = contract
        .enums
        .iter()
        .map(|e| e.full_name.as_str())
        .collect();
    for name in compiled_enums.keys() {
        if !contract_enums.contains(name.as_str()) {
            d.missing(format!("enum {name}"), true);
        }
    }
    for e in &contract.enums {
        let subject = format!("enum {}", e.full_name);
        let Some(compiled) = compiled_enums.get(&e.full_name) else {
            d.missing(subject, false);
            continue;
        };
        d.check(&format!("{subject} name"), e.name.as_str(), compiled.name());
        d.check(
            &format!("{subject} file"),
            e.file.as_str(),
            compiled.parent_file().name(),
        );
        let values: Vec<ContractEnumValue> = compiled
            .values()
            .map(|v| ContractEnumValue {
                name: v.name().to_string(),
                number: v.number(),
            })
            .collect();
        d.check(&format!("{subject} values"), e.values.clone(), values);
    }
    d.0
}

/// Renders a compiled field in the contract's vocabulary.
fn describe_field(field: &FieldDescriptor) -> ContractField {
    let proto = field.field_descriptor_proto();
    let mut out = ContractField {
        number: field.number(),
        name: field.name().to_string(),
        json_name: field.json_name().to_string(),
        label: String::new(),
        type_name: type_name(&field.kind()),
        kind: kind_name(&field.kind()).to_string(),
        wire_type: wire_type(&field.kind(), field.is_list() && field.is_packed()),
        oneof: field
            .containing_oneof()
            .filter(|o| !o.is_synthetic())
            .map(|o| o.name().to_string()),
        map_key_type: None,
        map_value_type: None,
        map_value_kind: None,
        map_entry_message: None,
    };
    if field.is_map() {
        let Kind::Message(entry) = field.kind() else {
            unreachable!("map fields have an entry message");
        };
        let key = type_name(&entry.map_entry_key_field().kind());
        let value_kind = entry.map_entry_value_field().kind();
        let value = type_name(&value_kind);
        out.label = "map".into();
        out.kind = "map".into();
        out.type_name = format!("map<{key},{value}>");
        out.wire_type = 2;
        out.map_key_type = Some(key);
        out.map_value_type = Some(value);
        out.map_value_kind = Some(kind_name(&value_kind).to_string());
        out.map_entry_message = Some(entry.full_name().to_string());
    } else {
        out.label = match field.cardinality() {
            Cardinality::Repeated => "repeated",
            _ if proto.proto3_optional() => "optional",
            Cardinality::Optional | Cardinality::Required => "singular",
        }
        .into();
    }
    out
}

fn type_name(kind: &Kind) -> String {
    match kind {
        Kind::Double => "double".into(),
        Kind::Float => "float".into(),
        Kind::Int32 => "int32".into(),
        Kind::Int64 => "int64".into(),
        Kind::Uint32 => "uint32".into(),
        Kind::Uint64 => "uint64".into(),
        Kind::Sint32 => "sint32".into(),
        Kind::Sint64 => "sint64".into(),
        Kind::Fixed32 => "fixed32".into(),
        Kind::Fixed64 => "fixed64".into(),
        Kind::Sfixed32 => "sfixed32".into(),
        Kind::Sfixed64 => "sfixed64".into(),
        Kind::Bool => "bool".into(),
        Kind::String => "string".into(),
        Kind::Bytes => "bytes".into(),
        Kind::Message(m) => m.full_name().to_string(),
        Kind::Enum(e) => e.full_name().to_string(),
    }
}

fn kind_name(kind: &Kind) -> &'static str {
    match kind {
        Kind::Message(_) => "message",
        Kind::Enum(_) => "enum",
        _ => "scalar",
    }
}

/// The protobuf wire type a field is encoded with (0 varint, 1 64-bit, 2 length-delimited,
/// 5 32-bit); packed repeated scalars travel length-delimited.
fn wire_type(kind: &Kind, packed: bool) -> u32 {
    if packed {
        return 2;
    }
    match kind {
        Kind::Int32
        | Kind::Int64
        | Kind::Uint32
        | Kind::Uint64
        | Kind::Sint32
        | Kind::Sint64
        | Kind::Bool
        | Kind::Enum(_) => 0,
        Kind::Fixed64 | Kind::Sfixed64 | Kind::Double => 1,
        Kind::Fixed32 | Kind::Sfixed32 | Kind::Float => 5,
        Kind::String | Kind::Bytes | Kind::Message(_) => 2,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use prost::Message;
    use prost_reflect::prost_types::{FileDescriptorSet, field_descriptor_proto::Type};

    fn compiled_set() -> FileDescriptorSet {
        FileDescriptorSet::decode(crate::DESCRIPTOR_SET).expect("descriptor set decodes")
    }

    fn pool_of(set: FileDescriptorSet) -> DescriptorPool {
        DescriptorPool::from_file_descriptor_set(set).expect("descriptor set is consistent")
    }

    #[test]
    fn compiled_proto_matches_the_contract_exactly() {
        let contract = Contract::embedded();
        let diffs = compare(&contract, crate::descriptor_pool());
        let listing: Vec<String> = diffs.iter().map(ToString::to_string).collect();
        assert!(
            listing.is_empty(),
            "{} differences:\n{}",
            listing.len(),
            listing.join("\n")
        );
    }

    #[test]
    fn contract_counts_are_those_the_issue_names() {
        let contract = Contract::embedded();
        assert_eq!(contract.files.len(), 19);
        assert_eq!(contract.messages.len(), 648);
        assert_eq!(contract.enums.len(), 2);
        let api = contract
            .service("mattermost.pluginapi.v1.PluginAPI")
            .unwrap();
        let hooks = contract
            .service("mattermost.pluginapi.v1.PluginHooks")
            .unwrap();
        assert_eq!(api.rpcs.len(), 236);
        assert_eq!(hooks.rpcs.len(), 42);
        let serve_http = hooks.rpcs.iter().find(|r| r.name == "ServeHTTP").unwrap();
        assert!(serve_http.client_streaming && serve_http.server_streaming);
    }

    fn mutate_field(
        set: &mut FileDescriptorSet,
        message: &str,
        field: &str,
        f: impl FnOnce(&mut prost_reflect::prost_types::FieldDescriptorProto),
    ) {
        let target = set
            .file
            .iter_mut()
            .flat_map(|file| file.message_type.iter_mut())
            .find(|m| m.name() == message)
            .expect("message exists");
        let fd = target
            .field
            .iter_mut()
            .find(|x| x.name() == field)
            .expect("field exists");
        f(fd);
    }

    #[test]
    fn one_changed_field_number_in_proto_is_caught() {
        let mut set = compiled_set();
        mutate_field(&mut set, "GetUserRequest", "user_id", |f| {
            f.number = Some(5)
        });
        let diffs = compare(&Contract::embedded(), &pool_of(set));
        assert_eq!(diffs.len(), 2, "{diffs:#?}");
        assert!(diffs.iter().any(|d| d.subject
            == "message mattermost.pluginapi.v1.GetUserRequest field 1 (user_id)"
            && d.compiled == "nothing"));
        assert!(
            diffs
                .iter()
                .any(|d| d.subject.contains("GetUserRequest field 5"))
        );
    }

    #[test]
    fn one_changed_field_type_in_proto_is_caught() {
        let mut set = compiled_set();
        mutate_field(&mut set, "User", "create_at", |f| f.set_type(Type::Int32));
        let diffs = compare(&Contract::embedded(), &pool_of(set));
        assert_eq!(diffs.len(), 1, "{diffs:#?}");
        assert_eq!(
            diffs[0].subject,
            "message mattermost.pluginapi.v1.User field 2 (create_at)"
        );
        assert!(diffs[0].contract.contains("\"int64\"") && diffs[0].compiled.contains("\"int32\""));
    }

    #[test]
    fn a_dropped_optional_label_is_caught() {
        let mut set = compiled_set();
        let user = set
            .file
            .iter_mut()
            .flat_map(|file| file.message_type.iter_mut())
            .find(|m| m.name() == "User")
            .expect("User exists");
        // proto3 `optional` is a synthetic oneof; drop it and renumber the later ones.
        let removed = user
            .oneof_decl
            .iter()
            .position(|o| o.name() == "_auth_data")
            .expect("auth_data is optional") as i32;
        user.oneof_decl.remove(removed as usize);
        for f in &mut user.field {
            match f.oneof_index {
                Some(i) if i == removed => {
                    f.oneof_index = None;
                    f.proto3_optional = None;
                }
                Some(i) if i > removed => f.oneof_index = Some(i - 1),
                _ => {}
            }
        }
        let diffs = compare(&Contract::embedded(), &pool_of(set));
        assert_eq!(diffs.len(), 1, "{diffs:#?}");
        assert!(diffs[0].subject.ends_with("User field 7 (auth_data)"));
        assert!(diffs[0].contract.contains("\"optional\""));
    }

    #[test]
    fn a_changed_contract_is_caught_too() {
        let mut contract = Contract::embedded();
        let rpc = contract
            .services
            .iter_mut()
            .flat_map(|s| s.rpcs.iter_mut())
            .find(|r| r.name == "ServeHTTP")
            .unwrap();
        rpc.client_streaming = false;
        let diffs = compare(&contract, crate::descriptor_pool());
        assert_eq!(diffs.len(), 1, "{diffs:#?}");
        assert_eq!(
            diffs[0].subject,
            "rpc /mattermost.pluginapi.v1.PluginHooks/ServeHTTP client_streaming"
        );
    }
}
