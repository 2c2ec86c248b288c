//! Property rpcs of the reference PluginAPI server (upstream's gRPC server does not serve
//! them; SPEC §24.7): property groups registered by name, fields in a group (typed,
//! optionally bound to a target), and values of a field for a target. Deletes are soft
//! (`delete_at`) and deleted rows are left out of searches, counts and name lookups; batch
//! rpcs are all or nothing. Upstream's Go methods return plain errors (its store wraps
//! even the model's validation errors), so every failure here is a plain Go error.

// Every handler returns `Res<T>` = `Result<T, AppError>`; AppError is the wire type.
#![allow(clippy::result_large_err)]

use std::collections::BTreeMap;

use super::prelude::*;

/// Upstream's `PropertyFieldNameMaxRunes` and the length of the string columns.
const NAME_MAX_RUNES: usize = 255;
const FIELD_TYPES: &[&str] = &["text", "select", "multiselect", "date", "user", "multiuser"];

/// A stored row with its insertion sequence (the listing order).
#[derive(Debug, Clone)]
pub struct Stored<T> {
    pub seq: u64,
    pub item: T,
}

type Fields = BTreeMap<String, Stored<PropertyField>>;
type Values = BTreeMap<String, Stored<PropertyValue>>;

/// This domain's part of the store.
#[derive(Debug, Default)]
pub struct PropertiesState {
    /// Groups by name.
    pub groups: BTreeMap<String, PropertyGroup>,
    /// Fields by id.
    pub fields: Fields,
    /// Values by id.
    pub values: Values,
    next_seq: u64,
}

impl PropertiesState {
    fn seq(&mut self) -> u64 {
        self.next_seq += 1;
        self.next_seq
    }
}

fn bump(now: i64, prev: i64) -> i64 {
    now.max(prev + 1)
}

fn field_invalid(cx: &Cx<'_>, what: &str) -> AppError {
    cx.go_error(format!(
        "property_field_isvalid: model.property_field.is_valid.app_error: {what}"
    ))
}

fn value_invalid(cx: &Cx<'_>, what: &str) -> AppError {
    cx.go_error(format!(
        "property_value_isvalid: model.property_value.is_valid.app_error: {what}"
    ))
}

fn no_rows(cx: &Cx<'_>, what: &str, id: &str) -> AppError {
    cx.go_error(format!(
        "failed to get {what} with id={id}: sql: no rows in result set"
    ))
}

/// The field `id` of `group_id` (deleted ones too), or a plain not-found error.
fn field_in(cx: &Cx<'_>, fields: &Fields, group_id: &str, id: &str) -> Res<PropertyField> {
    fields
        .get(id)
        .map(|s| &s.item)
        .filter(|f| f.group_id == group_id)
        .cloned()
        .ok_or_else(|| no_rows(cx, "property field", id))
}

/// The value `id` of `group_id` (deleted ones too), or a plain not-found error.
fn value_in(cx: &Cx<'_>, values: &Values, group_id: &str, id: &str) -> Res<PropertyValue> {
    values
        .get(id)
        .map(|s| &s.item)
        .filter(|v| v.group_id == group_id)
        .cloned()
        .ok_or_else(|| no_rows(cx, "property value", id))
}

/// Upstream's `PropertyField.IsValid`, in its order: id, group id, name, type, create_at,
/// update_at. Target id and type are not checked.
fn check_field(cx: &Cx<'_>, f: &PropertyField) -> Res<()> {
    if !is_valid_id(&f.id) {
        return Err(field_invalid(cx, "id: invalid id"));
    }
    if !is_valid_id(&f.group_id) {
        return Err(field_invalid(cx, "group_id: invalid id"));
    }
    if f.name.is_empty() {
        return Err(field_invalid(cx, "name: value cannot be empty"));
    }
    if f.name.chars().count() > NAME_MAX_RUNES {
        return Err(field_invalid(cx, "name: too long"));
    }
    if !FIELD_TYPES.contains(&f.r#type.as_str()) {
        return Err(field_invalid(
            cx,
            &format!("type: unknown value {:?}", f.r#type),
        ));
    }
    if f.create_at == 0 {
        return Err(field_invalid(cx, "create_at: value cannot be zero"));
    }
    if f.update_at == 0 {
        return Err(field_invalid(cx, "update_at: value cannot be zero"));
    }
    Ok(())
}

/// Upstream's `PropertyValue.IsValid`, in its order: id, target id, target type, group
/// id, field id, create_at, update_at. Neither the group nor the field is looked up.
fn check_value(cx: &Cx<'_>, v: &PropertyValue) -> Res<()> {
    if !is_valid_id(&v.id) {
        return Err(value_invalid(cx, "id: invalid id"));
    }
    if !is_valid_id(&v.target_id) {
        return Err(value_invalid(cx, "target_id: invalid id"));
    }
    if v.target_type.is_empty() || v.target_type.chars().count() > NAME_MAX_RUNES {
        return Err(value_invalid(cx, "target_type: value cannot be empty"));
    }
    if !is_valid_id(&v.group_id) {
        return Err(value_invalid(cx, "group_id: invalid id"));
    }
    if !is_valid_id(&v.field_id) {
        return Err(value_invalid(cx, "field_id: invalid id"));
    }
    if v.create_at == 0 || v.update_at == 0 {
        return Err(value_invalid(
            cx,
            "create_at/update_at: value cannot be zero",
        ));
    }
    Ok(())
}

/// The live value for (group, field, target), if any.
fn live_value_for<'a>(values: &'a Values, v: &PropertyValue) -> Option<&'a PropertyValue> {
    values.values().map(|s| &s.item).find(|o| {
        o.delete_at == 0
            && o.group_id == v.group_id
            && o.field_id == v.field_id
            && o.target_id == v.target_id
    })
}

/// Inserts a new value: a preset id is refused (a plain invalid-input error), the model's
/// checks apply (after the id and times are filled: upstream's `PropertyValue.PreSave`
/// leaves `delete_at` as given, and the store inserts it), and a second live value for the
/// same group, field and target breaks the table's unique index (a plain error).
fn create_value(
    cx: &Cx<'_>,
    values: &mut Values,
    seq: &mut u64,
    mut v: PropertyValue,
) -> Res<PropertyValue> {
    if !v.id.is_empty() {
        return Err(cx.go_error("invalid input: a new PropertyValue must not have an id"));
    }
    v.id = new_id();
    v.create_at = cx.now;
    v.update_at = cx.now;
    check_value(cx, &v)?;
    if v.delete_at == 0 && live_value_for(values, &v).is_some() {
        return Err(cx.go_error(
            "failed to save property value: duplicate key value violates unique constraint",
        ));
    }
    *seq += 1;
    values.insert(
        v.id.clone(),
        Stored {
            seq: *seq,
            item: v.clone(),
        },
    );
    Ok(v)
}

/// Updates the live value of (group, field, target) or creates it.
fn upsert_value(
    cx: &Cx<'_>,
    values: &mut Values,
    seq: &mut u64,
    mut v: PropertyValue,
) -> Res<PropertyValue> {
    v.id.clear();
    let existing = live_value_for(values, &v).map(|o| o.id.clone());
    match existing {
        Some(id) => {
            let mut probe = v.clone();
            probe.id = id.clone();
            probe.create_at = cx.now;
            probe.update_at = cx.now;
            check_value(cx, &probe)?;
            let cur = &mut values.get_mut(&id).expect("found above").item;
            cur.value = v.value;
            cur.target_type = v.target_type;
            cur.update_at = bump(cx.now, cur.update_at);
            Ok(cur.clone())
        }
        None => create_value(cx, values, seq, v),
    }
}

/// Upstream's store `Update` of values, for one value of `group_id`: the request's value
/// gets `update_at` now and must pass the model's checks (so it carries its target, field,
/// group and `create_at`); the row's JSON value and `delete_at` are written (a deleted
/// value too: `delete_at` 0 restores it), the rest of the row stays. Answers the request's
/// value. A value that is not in the group is a plain error.
fn update_value(
    cx: &Cx<'_>,
    values: &mut Values,
    group_id: &str,
    mut v: PropertyValue,
) -> Res<PropertyValue> {
    v.update_at = cx.now;
    check_value(cx, &v)?;
    let found = values
        .get(&v.id)
        .is_some_and(|s| group_id.is_empty() || s.item.group_id == group_id);
    if !found {
        return Err(cx.go_error(format!(
            "failed to update, some property values were not found: {}",
            v.id
        )));
    }
    let row = &mut values.get_mut(&v.id).expect("found above").item;
    row.value = v.value.clone();
    row.delete_at = v.delete_at;
    row.update_at = bump(cx.now, row.update_at);
    v.update_at = row.update_at;
    Ok(v)
}

/// Upstream's store `Update` of fields, for one field of `group_id`: the request's field
/// gets `update_at` now and must pass the model's checks (so it carries its `create_at`);
/// the row's name, type, attrs, target id, target type and `delete_at` are written (a
/// deleted field too: `delete_at` 0 restores it); `create_at` stays. Answers the request's
/// field. A field that is not in the group is a plain error.
fn update_field(
    cx: &Cx<'_>,
    fields: &mut Fields,
    group_id: &str,
    mut f: PropertyField,
) -> Res<PropertyField> {
    if f.group_id.is_empty() {
        f.group_id = group_id.to_string();
    }
    f.update_at = cx.now;
    check_field(cx, &f)?;
    let found = fields
        .get(&f.id)
        .is_some_and(|s| s.item.group_id == group_id && f.group_id == group_id);
    if !found {
        return Err(cx.go_error(format!(
            "failed to update, some property fields were not found: {}",
            f.id
        )));
    }
    let row = &mut fields.get_mut(&f.id).expect("found above").item;
    row.name = f.name.clone();
    row.r#type = f.r#type.clone();
    row.attrs = f.attrs.clone();
    row.target_id = f.target_id.clone();
    row.target_type = f.target_type.clone();
    row.update_at = bump(cx.now, row.update_at);
    row.delete_at = f.delete_at;
    f.update_at = row.update_at;
    Ok(f)
}

fn sorted<T: Clone>(rows: impl Iterator<Item = Stored<T>>) -> Vec<T> {
    let mut rows: Vec<Stored<T>> = rows.collect();
    rows.sort_by_key(|s| s.seq);
    rows.into_iter().map(|s| s.item).collect()
}

/// Soft-deletes the live values matching `pred`.
fn delete_values_where(cx: &mut Cx<'_>, pred: impl Fn(&PropertyValue) -> bool) {
    let now = cx.now;
    for s in cx.store.properties.values.values_mut() {
        if s.item.delete_at == 0 && pred(&s.item) {
            s.item.delete_at = now;
            s.item.update_at = bump(now, s.item.update_at);
        }
    }
}

/// `CreatePropertyField`: a preset id is refused (plain invalid-input error); the id and
/// times are filled and the name trimmed, then the model's checks apply; the group must
/// have been registered (newer upstream looks it up; a plain error otherwise). Names are
/// not unique.
pub fn create_property_field(
    cx: &mut Cx<'_>,
    req: CreatePropertyFieldRequest,
) -> Res<CreatePropertyFieldResponse> {
    let mut f = req.field.ok_or_else(|| cx.required("field"))?;
    if !f.id.is_empty() {
        return Err(cx.go_error("invalid input: a new PropertyField must not have an id"));
    }
    f.id = new_id();
    f.name = f.name.trim().to_string();
    f.create_at = cx.now;
    f.update_at = cx.now;
    f.delete_at = 0;
    check_field(cx, &f)?;
    if !cx
        .store
        .properties
        .groups
        .values()
        .any(|g| g.id == f.group_id)
    {
        return Err(cx.go_error(format!(
            "CreatePropertyField: failed to look up group for version check: group {} not found",
            f.group_id
        )));
    }
    let seq = cx.store.properties.seq();
    cx.store.properties.fields.insert(
        f.id.clone(),
        Stored {
            seq,
            item: f.clone(),
        },
    );
    Ok(CreatePropertyFieldResponse {
        field: Some(f),
        ..Default::default()
    })
}

/// `GetPropertyField`: a field of a group, deleted ones too.
pub fn get_property_field(
    cx: &mut Cx<'_>,
    req: GetPropertyFieldRequest,
) -> Res<GetPropertyFieldResponse> {
    let field = field_in(
        cx,
        &cx.store.properties.fields,
        &req.group_id,
        &req.field_id,
    )?;
    Ok(GetPropertyFieldResponse {
        field: Some(field),
        ..Default::default()
    })
}

/// `GetPropertyFields`: several fields of a group (in the order asked: upstream gives no
/// order); fewer found than asked is a plain error.
pub fn get_property_fields(
    cx: &mut Cx<'_>,
    req: GetPropertyFieldsRequest,
) -> Res<GetPropertyFieldsResponse> {
    let p = &cx.store.properties;
    let fields: Vec<PropertyField> = req
        .ids
        .iter()
        .filter_map(|id| p.fields.get(id).map(|s| s.item.clone()))
        .filter(|f| f.group_id == req.group_id)
        .collect();
    if fields.len() != req.ids.len() {
        return Err(cx.go_error(format!(
            "missmatch results: got {} results of the {} ids passed",
            fields.len(),
            req.ids.len()
        )));
    }
    Ok(GetPropertyFieldsResponse {
        fields,
        ..Default::default()
    })
}

/// `UpdatePropertyField`: see [`update_field`].
pub fn update_property_field(
    cx: &mut Cx<'_>,
    req: UpdatePropertyFieldRequest,
) -> Res<UpdatePropertyFieldResponse> {
    let f = req.field.ok_or_else(|| cx.required("field"))?;
    let mut fields = cx.store.properties.fields.clone();
    let field = update_field(cx, &mut fields, &req.group_id, f)?;
    cx.store.properties.fields = fields;
    Ok(UpdatePropertyFieldResponse {
        field: Some(field),
        ..Default::default()
    })
}

/// `DeletePropertyField`: soft-delete a field of a group (again if it was deleted: the
/// store does not filter); its values are not touched. An unknown field is a plain error.
pub fn delete_property_field(
    cx: &mut Cx<'_>,
    req: DeletePropertyFieldRequest,
) -> Res<DeletePropertyFieldResponse> {
    field_in(
        cx,
        &cx.store.properties.fields,
        &req.group_id,
        &req.field_id,
    )?;
    let now = cx.now;
    let f = &mut cx
        .store
        .properties
        .fields
        .get_mut(&req.field_id)
        .expect("found above")
        .item;
    f.delete_at = now;
    f.update_at = bump(now, f.update_at);
    Ok(DeletePropertyFieldResponse::default())
}

fn search_fields(
    p: &PropertiesState,
    group_id: &str,
    target_type: &str,
    target_id: &str,
    include_deleted: bool,
) -> Vec<PropertyField> {
    sorted(
        p.fields
            .values()
            .filter(|s| {
                let f = &s.item;
                f.group_id == group_id
                    && (include_deleted || f.delete_at == 0)
                    && (target_type.is_empty() || f.target_type == target_type)
                    && (target_id.is_empty() || f.target_id == target_id)
            })
            .cloned(),
    )
}

/// `SearchPropertyFields`: the fields of a group, oldest first, filtered by target type
/// and id, without deleted ones unless asked. `per_page` below 1 is a plain error;
/// pages are `opts.page` (upstream's Go options page by cursor instead).
pub fn search_property_fields(
    cx: &mut Cx<'_>,
    req: SearchPropertyFieldsRequest,
) -> Res<SearchPropertyFieldsResponse> {
    let o = req.opts.unwrap_or_default();
    if o.per_page < 1 {
        return Err(cx.go_error("per page must be positive integer greater than zero"));
    }
    let all = search_fields(
        &cx.store.properties,
        &req.group_id,
        &o.target_type,
        &o.target_id,
        o.include_deleted,
    );
    Ok(SearchPropertyFieldsResponse {
        fields: paginate(&all, o.page, o.per_page),
        ..Default::default()
    })
}

/// `CountPropertyFields`: count the fields of a group.
pub fn count_property_fields(
    cx: &mut Cx<'_>,
    req: CountPropertyFieldsRequest,
) -> Res<CountPropertyFieldsResponse> {
    let n = search_fields(
        &cx.store.properties,
        &req.group_id,
        "",
        "",
        req.include_deleted,
    )
    .len();
    Ok(CountPropertyFieldsResponse {
        count: n as i64,
        ..Default::default()
    })
}

/// `CountPropertyFieldsForTarget`: count the fields of a group bound to a target.
pub fn count_property_fields_for_target(
    cx: &mut Cx<'_>,
    req: CountPropertyFieldsForTargetRequest,
) -> Res<CountPropertyFieldsForTargetResponse> {
    let n = cx
        .store
        .properties
        .fields
        .values()
        .map(|s| &s.item)
        .filter(|f| {
            f.group_id == req.group_id
                && f.target_type == req.target_type
                && f.target_id == req.target_id
                && (req.include_deleted || f.delete_at == 0)
        })
        .count();
    Ok(CountPropertyFieldsForTargetResponse {
        count: n as i64,
        ..Default::default()
    })
}

/// `CreatePropertyValue`: see [`create_value`]; the field is not looked up.
pub fn create_property_value(
    cx: &mut Cx<'_>,
    req: CreatePropertyValueRequest,
) -> Res<CreatePropertyValueResponse> {
    let v = req.value.ok_or_else(|| cx.required("value"))?;
    let mut values = cx.store.properties.values.clone();
    let mut seq = cx.store.properties.next_seq;
    let value = create_value(cx, &mut values, &mut seq, v)?;
    cx.store.properties.values = values;
    cx.store.properties.next_seq = seq;
    Ok(CreatePropertyValueResponse {
        value: Some(value),
        ..Default::default()
    })
}

/// `GetPropertyValue`: a value of a group, deleted ones too.
pub fn get_property_value(
    cx: &mut Cx<'_>,
    req: GetPropertyValueRequest,
) -> Res<GetPropertyValueResponse> {
    let value = value_in(
        cx,
        &cx.store.properties.values,
        &req.group_id,
        &req.value_id,
    )?;
    Ok(GetPropertyValueResponse {
        value: Some(value),
        ..Default::default()
    })
}

/// `GetPropertyValues`: several values of a group, in the order asked; fewer found than
/// asked is a plain error.
pub fn get_property_values(
    cx: &mut Cx<'_>,
    req: GetPropertyValuesRequest,
) -> Res<GetPropertyValuesResponse> {
    let p = &cx.store.properties;
    let values: Vec<PropertyValue> = req
        .ids
        .iter()
        .filter_map(|id| p.values.get(id).map(|s| s.item.clone()))
        .filter(|v| v.group_id == req.group_id)
        .collect();
    if values.len() != req.ids.len() {
        return Err(cx.go_error(format!(
            "missmatch results: got {} results of the {} ids passed",
            values.len(),
            req.ids.len()
        )));
    }
    Ok(GetPropertyValuesResponse {
        values,
        ..Default::default()
    })
}

/// `UpdatePropertyValue`: see [`update_value`].
pub fn update_property_value(
    cx: &mut Cx<'_>,
    req: UpdatePropertyValueRequest,
) -> Res<UpdatePropertyValueResponse> {
    let v = req.value.ok_or_else(|| cx.required("value"))?;
    let mut values = cx.store.properties.values.clone();
    let value = update_value(cx, &mut values, &req.group_id, v)?;
    cx.store.properties.values = values;
    Ok(UpdatePropertyValueResponse {
        value: Some(value),
        ..Default::default()
    })
}

/// `UpsertPropertyValue`: update the live value of (group, field, target) or create it.
pub fn upsert_property_value(
    cx: &mut Cx<'_>,
    req: UpsertPropertyValueRequest,
) -> Res<UpsertPropertyValueResponse> {
    let v = req.value.ok_or_else(|| cx.required("value"))?;
    let mut values = cx.store.properties.values.clone();
    let mut seq = cx.store.properties.next_seq;
    let value = upsert_value(cx, &mut values, &mut seq, v)?;
    cx.store.properties.values = values;
    cx.store.properties.next_seq = seq;
    Ok(UpsertPropertyValueResponse {
        value: Some(value),
        ..Default::default()
    })
}

/// `DeletePropertyValue`: soft-delete a property value of a group (again if it was deleted:
/// upstream's store `Delete` does not filter on `delete_at`); an unknown one is a plain
/// error.
pub fn delete_property_value(
    cx: &mut Cx<'_>,
    req: DeletePropertyValueRequest,
) -> Res<DeletePropertyValueResponse> {
    value_in(
        cx,
        &cx.store.properties.values,
        &req.group_id,
        &req.value_id,
    )?;
    let now = cx.now;
    if let Some(s) = cx.store.properties.values.get_mut(&req.value_id) {
        s.item.delete_at = now;
    }
    Ok(DeletePropertyValueResponse::default())
}

/// `SearchPropertyValues`: the values of a group, oldest first, filtered by target type,
/// target id and field, without deleted ones unless asked; paged (`per_page` 0: 60).
pub fn search_property_values(
    cx: &mut Cx<'_>,
    req: SearchPropertyValuesRequest,
) -> Res<SearchPropertyValuesResponse> {
    let o = req.opts.unwrap_or_default();
    let all = sorted(
        cx.store
            .properties
            .values
            .values()
            .filter(|s| {
                let v = &s.item;
                v.group_id == req.group_id
                    && (o.include_deleted || v.delete_at == 0)
                    && (o.target_type.is_empty() || v.target_type == o.target_type)
                    && (o.target_id.is_empty() || v.target_id == o.target_id)
                    && (o.field_id.is_empty() || v.field_id == o.field_id)
            })
            .cloned(),
    );
    Ok(SearchPropertyValuesResponse {
        values: paginate(&all, o.page, o.per_page),
        ..Default::default()
    })
}

/// `RegisterPropertyGroup`: register a property group by name; registering it again
/// answers the same group. An empty name is a plain error.
pub fn register_property_group(
    cx: &mut Cx<'_>,
    req: RegisterPropertyGroupRequest,
) -> Res<RegisterPropertyGroupResponse> {
    if req.name.trim().is_empty() || req.name.chars().count() > NAME_MAX_RUNES {
        return Err(cx.go_error("invalid property group: a name of 1 to 255 characters"));
    }
    let group = cx
        .store
        .properties
        .groups
        .entry(req.name.clone())
        .or_insert_with(|| PropertyGroup {
            id: new_id(),
            name: req.name,
        })
        .clone();
    Ok(RegisterPropertyGroupResponse {
        group: Some(group),
        ..Default::default()
    })
}

/// `GetPropertyGroup`: a property group by name; an unknown name is a plain error.
pub fn get_property_group(
    cx: &mut Cx<'_>,
    req: GetPropertyGroupRequest,
) -> Res<GetPropertyGroupResponse> {
    let group = cx
        .store
        .properties
        .groups
        .get(&req.name)
        .cloned()
        .ok_or_else(|| {
            cx.go_error(format!(
                "failed to get property group with name {}: sql: no rows in result set",
                req.name
            ))
        })?;
    Ok(GetPropertyGroupResponse {
        group: Some(group),
        ..Default::default()
    })
}

/// `GetPropertyFieldByName`: the oldest live field of a group with this target id and
/// name; none is a plain error.
pub fn get_property_field_by_name(
    cx: &mut Cx<'_>,
    req: GetPropertyFieldByNameRequest,
) -> Res<GetPropertyFieldByNameResponse> {
    let field = sorted(cx.store.properties.fields.values().cloned())
        .into_iter()
        .find(|f| {
            f.group_id == req.group_id
                && f.target_id == req.target_id
                && f.name == req.name
                && f.delete_at == 0
        })
        .ok_or_else(|| no_rows(cx, "property field named", &req.name))?;
    Ok(GetPropertyFieldByNameResponse {
        field: Some(field),
        ..Default::default()
    })
}

/// `UpdatePropertyFields`: update several fields of a group in one transaction (all or
/// nothing); see [`update_field`].
pub fn update_property_fields(
    cx: &mut Cx<'_>,
    req: UpdatePropertyFieldsRequest,
) -> Res<UpdatePropertyFieldsResponse> {
    let mut fields = cx.store.properties.fields.clone();
    let updated = req
        .fields
        .into_iter()
        .map(|f| update_field(cx, &mut fields, &req.group_id, f))
        .collect::<Res<Vec<_>>>()?;
    cx.store.properties.fields = fields;
    Ok(UpdatePropertyFieldsResponse {
        fields: updated,
        ..Default::default()
    })
}

/// `UpdatePropertyValues`: update several values of a group in one transaction (all or
/// nothing); see [`update_value`].
pub fn update_property_values(
    cx: &mut Cx<'_>,
    req: UpdatePropertyValuesRequest,
) -> Res<UpdatePropertyValuesResponse> {
    let mut values = cx.store.properties.values.clone();
    let updated = req
        .values
        .into_iter()
        .map(|v| update_value(cx, &mut values, &req.group_id, v))
        .collect::<Res<Vec<_>>>()?;
    cx.store.properties.values = values;
    Ok(UpdatePropertyValuesResponse {
        values: updated,
        ..Default::default()
    })
}

/// `UpsertPropertyValues`: upsert several values (all or nothing).
pub fn upsert_property_values(
    cx: &mut Cx<'_>,
    req: UpsertPropertyValuesRequest,
) -> Res<UpsertPropertyValuesResponse> {
    let mut values = cx.store.properties.values.clone();
    let mut seq = cx.store.properties.next_seq;
    let out = req
        .values
        .into_iter()
        .map(|v| upsert_value(cx, &mut values, &mut seq, v))
        .collect::<Res<Vec<_>>>()?;
    cx.store.properties.values = values;
    cx.store.properties.next_seq = seq;
    Ok(UpsertPropertyValuesResponse {
        values: out,
        ..Default::default()
    })
}

/// `DeletePropertyValuesForTarget`: soft-delete every live value of a group for a target
/// (none is not an error).
pub fn delete_property_values_for_target(
    cx: &mut Cx<'_>,
    req: DeletePropertyValuesForTargetRequest,
) -> Res<DeletePropertyValuesForTargetResponse> {
    delete_values_where(cx, |v| {
        v.group_id == req.group_id
            && v.target_id == req.target_id
            && (req.target_type.is_empty() || v.target_type == req.target_type)
    });
    Ok(DeletePropertyValuesForTargetResponse::default())
}

/// `DeletePropertyValuesForField`: soft-delete every live value of a field (none is not
/// an error).
pub fn delete_property_values_for_field(
    cx: &mut Cx<'_>,
    req: DeletePropertyValuesForFieldRequest,
) -> Res<DeletePropertyValuesForFieldResponse> {
    delete_values_where(cx, |v| {
        v.group_id == req.group_id && v.field_id == req.field_id
    });
    Ok(DeletePropertyValuesForFieldResponse::default())
}
