//! Property rpcs of the reference PluginAPI server: property groups registered by name,
//! fields in a group (typed, optionally bound to a target), and values of a field for a
//! target. Deletes are soft (`delete_at`) and deleted rows are left out of searches,
//! counts and name lookups; batch rpcs are all or nothing.

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
    cx.bad("model.property_field.is_valid.app_error", what.to_string())
}

fn value_invalid(cx: &Cx<'_>, what: &str) -> AppError {
    cx.bad("model.property_value.is_valid.app_error", what.to_string())
}

/// `group_id` must be given; a group that was never registered is 404.
fn need_group(cx: &Cx<'_>, group_id: &str) -> Res<()> {
    if group_id.is_empty() {
        return Err(cx.required("group_id"));
    }
    if !cx
        .store
        .properties
        .groups
        .values()
        .any(|g| g.id == group_id)
    {
        return Err(cx.not_found("property group", group_id));
    }
    Ok(())
}

fn need_arg(cx: &Cx<'_>, name: &str, v: &str) -> Res<()> {
    if v.is_empty() {
        return Err(cx.required(name));
    }
    Ok(())
}

/// The field `id` of `group_id` (deleted ones too), or 404.
fn field_in(cx: &Cx<'_>, fields: &Fields, group_id: &str, id: &str) -> Res<PropertyField> {
    fields
        .get(id)
        .map(|s| &s.item)
        .filter(|f| f.group_id == group_id)
        .cloned()
        .ok_or_else(|| cx.not_found("property field", id))
}

/// A live field of `group_id`, or 404.
fn live_field_in(cx: &Cx<'_>, fields: &Fields, group_id: &str, id: &str) -> Res<PropertyField> {
    let f = field_in(cx, fields, group_id, id)?;
    if f.delete_at != 0 {
        return Err(cx.not_found("property field", id));
    }
    Ok(f)
}

/// The value `id` of `group_id` (deleted ones too), or 404.
fn value_in(cx: &Cx<'_>, values: &Values, group_id: &str, id: &str) -> Res<PropertyValue> {
    values
        .get(id)
        .map(|s| &s.item)
        .filter(|v| v.group_id == group_id)
        .cloned()
        .ok_or_else(|| cx.not_found("property value", id))
}

/// Upstream's `PropertyField.IsValid` rules that a caller can break.
fn check_field(cx: &Cx<'_>, f: &PropertyField) -> Res<()> {
    if f.name.trim().is_empty() {
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
    if f.target_type.chars().count() > NAME_MAX_RUNES {
        return Err(field_invalid(cx, "target_type: too long"));
    }
    Ok(())
}

/// A live field's name is unique within its group and target.
fn check_unique_name(cx: &Cx<'_>, fields: &Fields, f: &PropertyField) -> Res<()> {
    let taken = fields.values().map(|s| &s.item).any(|o| {
        o.id != f.id
            && o.delete_at == 0
            && o.group_id == f.group_id
            && o.target_id == f.target_id
            && o.name == f.name
    });
    if taken {
        return Err(cx.conflict(
            "app.property_field.duplicate_name.app_error",
            format!("a field named {:?} already exists for this target", f.name),
        ));
    }
    Ok(())
}

/// Upstream's `PropertyValue.IsValid` rules that a caller can break, and the field check.
fn check_value(cx: &Cx<'_>, fields: &Fields, v: &PropertyValue) -> Res<()> {
    need_group(cx, &v.group_id)?;
    if !is_valid_id(&v.target_id) {
        return Err(value_invalid(cx, "target_id: invalid id"));
    }
    if v.target_type.is_empty() || v.target_type.chars().count() > NAME_MAX_RUNES {
        return Err(value_invalid(cx, "target_type: value cannot be empty"));
    }
    if v.field_id.is_empty() {
        return Err(value_invalid(cx, "field_id: invalid id"));
    }
    live_field_in(cx, fields, &v.group_id, &v.field_id)?;
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

/// Inserts a new value (after `check_value`); a live duplicate is 409.
fn create_value(
    cx: &Cx<'_>,
    values: &mut Values,
    seq: &mut u64,
    mut v: PropertyValue,
) -> Res<PropertyValue> {
    if !v.id.is_empty() {
        return Err(value_invalid(cx, "id: a new value must not have an id"));
    }
    if live_value_for(values, &v).is_some() {
        return Err(cx.conflict(
            "app.property_value.duplicate.app_error",
            "the target already has a value for this field",
        ));
    }
    v.id = new_id();
    v.create_at = cx.now;
    v.update_at = cx.now;
    v.delete_at = 0;
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

/// Updates the live value for (group, field, target) or creates it.
fn upsert_value(
    cx: &Cx<'_>,
    fields: &Fields,
    values: &mut Values,
    seq: &mut u64,
    mut v: PropertyValue,
) -> Res<PropertyValue> {
    v.id.clear();
    check_value(cx, fields, &v)?;
    let existing = live_value_for(values, &v).map(|o| o.id.clone());
    match existing {
        Some(id) => {
            let cur = &mut values.get_mut(&id).expect("found above").item;
            cur.value = v.value;
            cur.target_type = v.target_type;
            cur.update_at = bump(cx.now, cur.update_at);
            Ok(cur.clone())
        }
        None => create_value(cx, values, seq, v),
    }
}

/// Replaces the JSON value of a live value of `group_id`.
fn update_value(
    cx: &Cx<'_>,
    values: &mut Values,
    group_id: &str,
    v: PropertyValue,
) -> Res<PropertyValue> {
    need_arg(cx, "value.id", &v.id)?;
    let cur = value_in(cx, values, group_id, &v.id)?;
    if cur.delete_at != 0 {
        return Err(cx.not_found("property value", &v.id));
    }
    let next = PropertyValue {
        value: v.value,
        update_at: bump(cx.now, cur.update_at),
        ..cur
    };
    values.get_mut(&next.id).expect("found above").item = next.clone();
    Ok(next)
}

/// Applies an update of a live field of `group_id`: name, type, attrs, target id and
/// target type change; id, group and create_at are kept.
fn update_field(
    cx: &Cx<'_>,
    fields: &mut Fields,
    group_id: &str,
    f: PropertyField,
) -> Res<PropertyField> {
    need_arg(cx, "field.id", &f.id)?;
    let cur = live_field_in(cx, fields, group_id, &f.id)?;
    let next = PropertyField {
        name: f.name,
        r#type: f.r#type,
        attrs: f.attrs,
        target_id: f.target_id,
        target_type: f.target_type,
        update_at: bump(cx.now, cur.update_at),
        ..cur
    };
    check_field(cx, &next)?;
    fields.get_mut(&next.id).expect("found above").item = next.clone();
    Ok(next)
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

/// `CreatePropertyField`: create a property field in a registered group.
pub fn create_property_field(
    cx: &mut Cx<'_>,
    req: CreatePropertyFieldRequest,
) -> Res<CreatePropertyFieldResponse> {
    let mut f = req.field.ok_or_else(|| cx.required("field"))?;
    if !f.id.is_empty() {
        return Err(field_invalid(cx, "id: a new field must not have an id"));
    }
    need_group(cx, &f.group_id)?;
    check_field(cx, &f)?;
    check_unique_name(cx, &cx.store.properties.fields, &f)?;
    f.id = new_id();
    f.create_at = cx.now;
    f.update_at = cx.now;
    f.delete_at = 0;
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

/// `GetPropertyField`: fetch a property field of a group (deleted ones too).
pub fn get_property_field(
    cx: &mut Cx<'_>,
    req: GetPropertyFieldRequest,
) -> Res<GetPropertyFieldResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
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

/// `GetPropertyFields`: fetch several fields of a group, in the order asked; any missing
/// id is 404.
pub fn get_property_fields(
    cx: &mut Cx<'_>,
    req: GetPropertyFieldsRequest,
) -> Res<GetPropertyFieldsResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
    let fields = req
        .ids
        .iter()
        .map(|id| field_in(cx, &cx.store.properties.fields, &req.group_id, id))
        .collect::<Res<Vec<_>>>()?;
    Ok(GetPropertyFieldsResponse {
        fields,
        ..Default::default()
    })
}

/// `UpdatePropertyField`: update a live property field of a group.
pub fn update_property_field(
    cx: &mut Cx<'_>,
    req: UpdatePropertyFieldRequest,
) -> Res<UpdatePropertyFieldResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
    let f = req.field.ok_or_else(|| cx.required("field"))?;
    let mut fields = cx.store.properties.fields.clone();
    let field = update_field(cx, &mut fields, &req.group_id, f)?;
    check_unique_name(cx, &fields, &field)?;
    cx.store.properties.fields = fields;
    Ok(UpdatePropertyFieldResponse {
        field: Some(field),
        ..Default::default()
    })
}

/// `DeletePropertyField`: soft-delete a live field and its values.
pub fn delete_property_field(
    cx: &mut Cx<'_>,
    req: DeletePropertyFieldRequest,
) -> Res<DeletePropertyFieldResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
    live_field_in(
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
    delete_values_where(cx, |v| v.field_id == req.field_id);
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
/// and id, without deleted ones unless asked; paged by `opts.page`/`opts.per_page`.
pub fn search_property_fields(
    cx: &mut Cx<'_>,
    req: SearchPropertyFieldsRequest,
) -> Res<SearchPropertyFieldsResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
    let o = req.opts.unwrap_or_default();
    if o.page < 0 || o.per_page < 0 {
        return Err(cx.bad(
            "api.context.invalid_param.app_error",
            "page and per_page must not be negative",
        ));
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
    need_arg(cx, "group_id", &req.group_id)?;
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
    need_arg(cx, "group_id", &req.group_id)?;
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

/// `CreatePropertyValue`: create the value of a live field for a target; a second live
/// value for the same field and target is 409.
pub fn create_property_value(
    cx: &mut Cx<'_>,
    req: CreatePropertyValueRequest,
) -> Res<CreatePropertyValueResponse> {
    let v = req.value.ok_or_else(|| cx.required("value"))?;
    check_value(cx, &cx.store.properties.fields, &v)?;
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

/// `GetPropertyValue`: fetch a property value of a group (deleted ones too).
pub fn get_property_value(
    cx: &mut Cx<'_>,
    req: GetPropertyValueRequest,
) -> Res<GetPropertyValueResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
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

/// `GetPropertyValues`: fetch several values of a group, in the order asked; any missing
/// id is 404.
pub fn get_property_values(
    cx: &mut Cx<'_>,
    req: GetPropertyValuesRequest,
) -> Res<GetPropertyValuesResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
    let values = req
        .ids
        .iter()
        .map(|id| value_in(cx, &cx.store.properties.values, &req.group_id, id))
        .collect::<Res<Vec<_>>>()?;
    Ok(GetPropertyValuesResponse {
        values,
        ..Default::default()
    })
}

/// `UpdatePropertyValue`: replace the JSON value of a live property value.
pub fn update_property_value(
    cx: &mut Cx<'_>,
    req: UpdatePropertyValueRequest,
) -> Res<UpdatePropertyValueResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
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
    let value = upsert_value(cx, &cx.store.properties.fields, &mut values, &mut seq, v)?;
    cx.store.properties.values = values;
    cx.store.properties.next_seq = seq;
    Ok(UpsertPropertyValueResponse {
        value: Some(value),
        ..Default::default()
    })
}

/// `DeletePropertyValue`: soft-delete a live property value.
pub fn delete_property_value(
    cx: &mut Cx<'_>,
    req: DeletePropertyValueRequest,
) -> Res<DeletePropertyValueResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
    let cur = value_in(
        cx,
        &cx.store.properties.values,
        &req.group_id,
        &req.value_id,
    )?;
    if cur.delete_at != 0 {
        return Err(cx.not_found("property value", &req.value_id));
    }
    delete_values_where(cx, |v| v.id == req.value_id);
    Ok(DeletePropertyValueResponse::default())
}

/// `SearchPropertyValues`: the values of a group, oldest first, filtered by target type,
/// target id and field, without deleted ones unless asked; paged.
pub fn search_property_values(
    cx: &mut Cx<'_>,
    req: SearchPropertyValuesRequest,
) -> Res<SearchPropertyValuesResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
    let o = req.opts.unwrap_or_default();
    if o.page < 0 || o.per_page < 0 {
        return Err(cx.bad(
            "api.context.invalid_param.app_error",
            "page and per_page must not be negative",
        ));
    }
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
/// answers the same group.
pub fn register_property_group(
    cx: &mut Cx<'_>,
    req: RegisterPropertyGroupRequest,
) -> Res<RegisterPropertyGroupResponse> {
    if req.name.trim().is_empty() || req.name.chars().count() > NAME_MAX_RUNES {
        return Err(cx.bad(
            "model.property_group.is_valid.app_error",
            "a property group needs a name of 1 to 255 characters",
        ));
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

/// `GetPropertyGroup`: fetch a property group by name.
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
        .ok_or_else(|| cx.not_found("property group", &req.name))?;
    Ok(GetPropertyGroupResponse {
        group: Some(group),
        ..Default::default()
    })
}

/// `GetPropertyFieldByName`: the live field of a group with this target id and name.
pub fn get_property_field_by_name(
    cx: &mut Cx<'_>,
    req: GetPropertyFieldByNameRequest,
) -> Res<GetPropertyFieldByNameResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
    need_arg(cx, "name", &req.name)?;
    let field = sorted(cx.store.properties.fields.values().cloned())
        .into_iter()
        .find(|f| {
            f.group_id == req.group_id
                && f.target_id == req.target_id
                && f.name == req.name
                && f.delete_at == 0
        })
        .ok_or_else(|| cx.not_found("property field", &req.name))?;
    Ok(GetPropertyFieldByNameResponse {
        field: Some(field),
        ..Default::default()
    })
}

/// `UpdatePropertyFields`: update several live fields of a group (all or nothing).
pub fn update_property_fields(
    cx: &mut Cx<'_>,
    req: UpdatePropertyFieldsRequest,
) -> Res<UpdatePropertyFieldsResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
    let mut fields = cx.store.properties.fields.clone();
    let updated = req
        .fields
        .into_iter()
        .map(|f| update_field(cx, &mut fields, &req.group_id, f))
        .collect::<Res<Vec<_>>>()?;
    for f in &updated {
        check_unique_name(cx, &fields, f)?;
    }
    cx.store.properties.fields = fields;
    // A field updated twice in the batch answers its final state each time.
    let fields = updated
        .into_iter()
        .map(|f| cx.store.properties.fields[&f.id].item.clone())
        .collect();
    Ok(UpdatePropertyFieldsResponse {
        fields,
        ..Default::default()
    })
}

/// `UpdatePropertyValues`: replace the JSON value of several live values (all or
/// nothing).
pub fn update_property_values(
    cx: &mut Cx<'_>,
    req: UpdatePropertyValuesRequest,
) -> Res<UpdatePropertyValuesResponse> {
    need_arg(cx, "group_id", &req.group_id)?;
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
        .map(|v| upsert_value(cx, &cx.store.properties.fields, &mut values, &mut seq, v))
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
    need_arg(cx, "group_id", &req.group_id)?;
    need_arg(cx, "target_id", &req.target_id)?;
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
    need_arg(cx, "group_id", &req.group_id)?;
    need_arg(cx, "field_id", &req.field_id)?;
    delete_values_where(cx, |v| {
        v.group_id == req.group_id && v.field_id == req.field_id
    });
    Ok(DeletePropertyValuesForFieldResponse::default())
}
