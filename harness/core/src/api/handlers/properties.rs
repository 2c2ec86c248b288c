//! Property rpcs of the reference PluginAPI server.

use super::prelude::*;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct PropertiesState {}

/// `CreatePropertyField`: create a property field.
pub fn create_property_field(
    _cx: &mut Cx<'_>,
    _req: CreatePropertyFieldRequest,
) -> Res<CreatePropertyFieldResponse> {
    todo_rpc("CreatePropertyField")
}

/// `GetPropertyField`: fetch a property field.
pub fn get_property_field(
    _cx: &mut Cx<'_>,
    _req: GetPropertyFieldRequest,
) -> Res<GetPropertyFieldResponse> {
    todo_rpc("GetPropertyField")
}

/// `GetPropertyFields`: fetch several property fields.
pub fn get_property_fields(
    _cx: &mut Cx<'_>,
    _req: GetPropertyFieldsRequest,
) -> Res<GetPropertyFieldsResponse> {
    todo_rpc("GetPropertyFields")
}

/// `UpdatePropertyField`: update a property field.
pub fn update_property_field(
    _cx: &mut Cx<'_>,
    _req: UpdatePropertyFieldRequest,
) -> Res<UpdatePropertyFieldResponse> {
    todo_rpc("UpdatePropertyField")
}

/// `DeletePropertyField`: delete a property field.
pub fn delete_property_field(
    _cx: &mut Cx<'_>,
    _req: DeletePropertyFieldRequest,
) -> Res<DeletePropertyFieldResponse> {
    todo_rpc("DeletePropertyField")
}

/// `SearchPropertyFields`: search property fields.
pub fn search_property_fields(
    _cx: &mut Cx<'_>,
    _req: SearchPropertyFieldsRequest,
) -> Res<SearchPropertyFieldsResponse> {
    todo_rpc("SearchPropertyFields")
}

/// `CountPropertyFields`: count fields in a group.
pub fn count_property_fields(
    _cx: &mut Cx<'_>,
    _req: CountPropertyFieldsRequest,
) -> Res<CountPropertyFieldsResponse> {
    todo_rpc("CountPropertyFields")
}

/// `CountPropertyFieldsForTarget`: count fields for a target.
pub fn count_property_fields_for_target(
    _cx: &mut Cx<'_>,
    _req: CountPropertyFieldsForTargetRequest,
) -> Res<CountPropertyFieldsForTargetResponse> {
    todo_rpc("CountPropertyFieldsForTarget")
}

/// `CreatePropertyValue`: create a property value.
pub fn create_property_value(
    _cx: &mut Cx<'_>,
    _req: CreatePropertyValueRequest,
) -> Res<CreatePropertyValueResponse> {
    todo_rpc("CreatePropertyValue")
}

/// `GetPropertyValue`: fetch a property value.
pub fn get_property_value(
    _cx: &mut Cx<'_>,
    _req: GetPropertyValueRequest,
) -> Res<GetPropertyValueResponse> {
    todo_rpc("GetPropertyValue")
}

/// `GetPropertyValues`: fetch several property values.
pub fn get_property_values(
    _cx: &mut Cx<'_>,
    _req: GetPropertyValuesRequest,
) -> Res<GetPropertyValuesResponse> {
    todo_rpc("GetPropertyValues")
}

/// `UpdatePropertyValue`: update a property value.
pub fn update_property_value(
    _cx: &mut Cx<'_>,
    _req: UpdatePropertyValueRequest,
) -> Res<UpdatePropertyValueResponse> {
    todo_rpc("UpdatePropertyValue")
}

/// `UpsertPropertyValue`: create or update a property value.
pub fn upsert_property_value(
    _cx: &mut Cx<'_>,
    _req: UpsertPropertyValueRequest,
) -> Res<UpsertPropertyValueResponse> {
    todo_rpc("UpsertPropertyValue")
}

/// `DeletePropertyValue`: delete a property value.
pub fn delete_property_value(
    _cx: &mut Cx<'_>,
    _req: DeletePropertyValueRequest,
) -> Res<DeletePropertyValueResponse> {
    todo_rpc("DeletePropertyValue")
}

/// `SearchPropertyValues`: search property values.
pub fn search_property_values(
    _cx: &mut Cx<'_>,
    _req: SearchPropertyValuesRequest,
) -> Res<SearchPropertyValuesResponse> {
    todo_rpc("SearchPropertyValues")
}

/// `RegisterPropertyGroup`: register a property group by name.
pub fn register_property_group(
    _cx: &mut Cx<'_>,
    _req: RegisterPropertyGroupRequest,
) -> Res<RegisterPropertyGroupResponse> {
    todo_rpc("RegisterPropertyGroup")
}

/// `GetPropertyGroup`: fetch a property group by name.
pub fn get_property_group(
    _cx: &mut Cx<'_>,
    _req: GetPropertyGroupRequest,
) -> Res<GetPropertyGroupResponse> {
    todo_rpc("GetPropertyGroup")
}

/// `GetPropertyFieldByName`: fetch a field by target and name.
pub fn get_property_field_by_name(
    _cx: &mut Cx<'_>,
    _req: GetPropertyFieldByNameRequest,
) -> Res<GetPropertyFieldByNameResponse> {
    todo_rpc("GetPropertyFieldByName")
}

/// `UpdatePropertyFields`: update several fields.
pub fn update_property_fields(
    _cx: &mut Cx<'_>,
    _req: UpdatePropertyFieldsRequest,
) -> Res<UpdatePropertyFieldsResponse> {
    todo_rpc("UpdatePropertyFields")
}

/// `UpdatePropertyValues`: update several values.
pub fn update_property_values(
    _cx: &mut Cx<'_>,
    _req: UpdatePropertyValuesRequest,
) -> Res<UpdatePropertyValuesResponse> {
    todo_rpc("UpdatePropertyValues")
}

/// `UpsertPropertyValues`: create or update several values.
pub fn upsert_property_values(
    _cx: &mut Cx<'_>,
    _req: UpsertPropertyValuesRequest,
) -> Res<UpsertPropertyValuesResponse> {
    todo_rpc("UpsertPropertyValues")
}

/// `DeletePropertyValuesForTarget`: delete all values of a target.
pub fn delete_property_values_for_target(
    _cx: &mut Cx<'_>,
    _req: DeletePropertyValuesForTargetRequest,
) -> Res<DeletePropertyValuesForTargetResponse> {
    todo_rpc("DeletePropertyValuesForTarget")
}

/// `DeletePropertyValuesForField`: delete all values of a field.
pub fn delete_property_values_for_field(
    _cx: &mut Cx<'_>,
    _req: DeletePropertyValuesForFieldRequest,
) -> Res<DeletePropertyValuesForFieldResponse> {
    todo_rpc("DeletePropertyValuesForField")
}
