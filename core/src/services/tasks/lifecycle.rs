//! The lifecycle of SPEC §4: create, edit, delete, (un)assign, and the status transitions.

use super::*;

// ------------------------------------------------------------------------------- lifecycle

/// Creates a task (SPEC §4 "(new) → scheduled"), with its first officers if given.
pub async fn create(state: &AppState, actor: &Actor, meta: &AuditMeta, input: NewTask) -> AppResult<TaskDetail> {
    require(actor, Capability::ManageTasks)?;
    let title = input.title.trim().to_owned();
    let code = clean(input.code);
    let description = clean(input.description);
    let location_text = clean(input.location_text);
    let notes = clean(input.notes);
    let supervisor_id = input.supervisor_id.or((actor.role == Role::Supervisor).then_some(actor.user_id));

    let mut errors = Errors::default();
    if let Some(code) = &code {
        check_code(&mut errors, code);
    }
    check_title(&mut errors, &title);
    check_texts(&mut errors, description.as_deref(), location_text.as_deref(), notes.as_deref());
    check_schedule(&mut errors, input.scheduled_start, input.scheduled_end);
    check_location(&mut errors, input.lat, input.lon);
    check_supervisor(&state.db, &mut errors, supervisor_id).await?;
    let officers = check_officers(&state.db, &mut errors, &input.officer_ids).await?;
    errors.finish()?;

    let at = now();
    let ticket = match code {
        Some(_) => None,
        None => Some(take_code(state, input.task_type, local_year(state, at)).await?),
    };
    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let code = match (code, ticket) {
        (None, Some(ticket)) => ticket.code(&txn).await?,
        (None, None) => return Err(AppError::internal("a task without a code has no code ticket")),
        (Some(code), _) => {
            let taken = tasks::Entity::find().filter(tasks::Column::Code.eq(code.as_str())).one(&*txn).await?;
            if taken.is_some() {
                return Err(AppError::Conflict(format!("Ya existe una tarea con el código {code}.")));
            }
            note_custom_code(&*txn, &code).await?;
            code
        }
    };
    let officer_ids: Vec<i64> = officers.iter().map(|o| o.id).collect();
    let reason = (input.allow_overlap && !officers.is_empty()).then(|| override_note(&officers));
    let row = TaskRow {
        code,
        title,
        description,
        task_type: input.task_type,
        priority: input.priority,
        scheduled_start: input.scheduled_start,
        scheduled_end: input.scheduled_end,
        supervisor_id,
        lat: input.lat,
        lon: input.lon,
        location_text,
        notes,
    };
    let task = insert_task(&txn, actor, row, &officer_ids, input.allow_overlap, reason, at).await?;
    if !input.allow_overlap {
        let (from, to) = crate::services::assignment::task_window(&task, at);
        crate::services::roster::refuse_leave(state, &*txn, &officers, from, to).await?;
    }
    let entry = AuditEntry::new("task.create", "task", task.id).after(json!({
        "task": snapshot(&task),
        "officer_ids": officer_ids,
        "allow_overlap": input.allow_overlap,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskCreated {
        task_id: task.id,
        code: task.code.clone(),
        title: task.title.clone(),
        priority: task.priority,
        officer_ids,
    });
    let detail = load_detail(state, txn.flushed().await?, actor, task).await?;
    txn.commit().await?;
    Ok(detail)
}

/// Changes the given fields of a task that is not final.
pub async fn update(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    changes: TaskUpdate,
) -> AppResult<TaskDetail> {
    require(actor, Capability::ManageTasks)?;
    let mut errors = Errors::default();
    let title = changes.title.map(|t| t.trim().to_owned());
    if let Some(title) = &title {
        check_title(&mut errors, title);
    }
    let description = changes.description.map(clean);
    let location_text = changes.location_text.map(clean);
    let notes = changes.notes.map(clean);
    check_texts(
        &mut errors,
        description.as_ref().and_then(Option::as_deref),
        location_text.as_ref().and_then(Option::as_deref),
        notes.as_ref().and_then(Option::as_deref),
    );
    if let Some(supervisor_id) = changes.supervisor_id {
        check_supervisor(&state.db, &mut errors, supervisor_id).await?;
    }
    errors.finish()?;

    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let before = find_for_update(&txn, id).await?;
    if before.status.is_final() {
        return Err(final_conflict(&before));
    }
    let mut after = before.clone();
    if let Some(v) = title {
        after.title = v;
    }
    if let Some(v) = description {
        after.description = v;
    }
    if let Some(v) = changes.task_type {
        after.task_type = v;
    }
    if let Some(v) = changes.priority {
        after.priority = v;
    }
    if let Some(v) = changes.scheduled_start {
        after.scheduled_start = v;
    }
    if let Some(v) = changes.scheduled_end {
        after.scheduled_end = v;
    }
    if let Some(v) = changes.lat {
        after.lat = v;
    }
    if let Some(v) = changes.lon {
        after.lon = v;
    }
    if let Some(v) = location_text {
        after.location_text = v;
    }
    if let Some(v) = changes.supervisor_id {
        after.supervisor_id = v;
    }
    if let Some(v) = notes {
        after.notes = v;
    }
    let mut errors = Errors::default();
    check_schedule(&mut errors, after.scheduled_start, after.scheduled_end);
    check_location(&mut errors, after.lat, after.lon);
    errors.finish()?;
    if after == before {
        drop(txn);
        return load_detail(state, &state.db, actor, before).await;
    }

    // Only changed columns are written, so the reschedule overlap check runs only when the
    // schedule really moves.
    let at = now();
    let mut active: tasks::ActiveModel = before.clone().into();
    macro_rules! set_if_changed {
        ($($field:ident),+) => {$(
            if after.$field != before.$field {
                active.$field = Set(after.$field.clone());
            }
        )+};
    }
    set_if_changed!(
        title,
        description,
        task_type,
        priority,
        scheduled_start,
        scheduled_end,
        lat,
        lon,
        location_text,
        supervisor_id,
        notes
    );
    active.updated_at = Set(at);
    let updated = active.update(&*txn).await?;
    let updated = crate::services::sla::apply(&txn, updated).await?;
    // A scheduled emergency given another type stops holding its officers, and a scheduled
    // task made an emergency starts to (as if dispatched).
    match (occupies_officers(&before), occupies_officers(&updated)) {
        (true, false) => {
            let officer_ids = assigned_officer_ids(&*txn, id).await?;
            free_officers(&mut txn, id, &officer_ids, at).await?;
        }
        (false, true) => {
            occupy_officers(&mut txn, Occupying::AssignedTo(id), at).await?;
        }
        _ => {}
    }
    let (old, new) = changed_fields(&before, &updated);
    let entry = AuditEntry::new("task.update", "task", id).before(old).after(new);
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskUpdated { task_id: id, code: updated.code.clone() });
    let detail = load_detail(state, txn.flushed().await?, actor, updated).await?;
    txn.commit().await?;
    Ok(detail)
}

/// Soft-deletes a task; officers working on it (or dispatched to it) are freed as on cancel.
pub async fn delete(state: &AppState, actor: &Actor, meta: &AuditMeta, id: i64) -> AppResult<()> {
    require(actor, Capability::ManageTasks)?;
    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let before = find_for_update(&txn, id).await?;
    let at = now();
    let mut active: tasks::ActiveModel = before.clone().into();
    active.deleted_at = Set(Some(at));
    active.updated_at = Set(at);
    let deleted = active.update(&*txn).await?;
    let freed = if occupies_officers(&before) {
        let officer_ids = assigned_officer_ids(&*txn, id).await?;
        free_officers(&mut txn, id, &officer_ids, at).await?
    } else {
        Vec::new()
    };
    let entry = AuditEntry::new("task.delete", "task", id)
        .before(snapshot(&before))
        .after(json!({ "task": snapshot(&deleted), "freed_officer_ids": freed }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskDeleted { task_id: id, code: before.code });
    txn.commit().await
}

/// Adds officers to a task that is not final. Officers already on it are left as they are;
/// on a task in progress or paused the new ones go `on_task`.
pub async fn assign(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    officer_ids: Vec<i64>,
    allow_overlap: bool,
) -> AppResult<TaskDetail> {
    require(actor, Capability::ManageTasks)?;
    let mut errors = Errors::default();
    if officer_ids.is_empty() {
        errors.add("officer_ids", "Seleccione al menos un efectivo.");
    }
    let officers = check_officers(&state.db, &mut errors, &officer_ids).await?;
    errors.finish()?;

    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let task = find_for_update(&txn, id).await?;
    if task.status.is_final() {
        return Err(final_conflict(&task));
    }
    let existing: HashSet<i64> = assigned_officer_ids(&*txn, id).await?.into_iter().collect();
    let new: Vec<officers::Model> = officers.into_iter().filter(|o| !existing.contains(&o.id)).collect();
    if new.is_empty() {
        drop(txn);
        return load_detail(state, &state.db, actor, task).await;
    }
    let at = now();
    let (from, to) = crate::services::assignment::task_window(&task, at);
    // Leave across the task is refused, or (overridden) named in the history and the audit.
    let on_leave = if allow_overlap {
        let ids: Vec<i64> = new.iter().map(|o| o.id).collect();
        crate::services::roster::leave_during(&*txn, &ids, from, to).await?
    } else {
        crate::services::roster::refuse_leave(state, &*txn, &new, from, to).await?;
        Vec::new()
    };
    let new_ids: Vec<i64> = new.iter().map(|o| o.id).collect();
    insert_assignments(&txn, id, &new_ids, actor, allow_overlap, at).await?;
    let task = crate::services::sla::apply(&txn, task).await?;
    let occupied = if occupies_officers(&task) {
        occupy_officers(&mut txn, Occupying::These(&new_ids), at).await?
    } else {
        Vec::new()
    };
    // Not a status change: the history says who was assigned, and any overlap the supervisor
    // authorised (SPEC §3), in words.
    let mut note = format!("Asignado: {}", officer_names(&new));
    if allow_overlap {
        note = format!("{note}. {}", override_note(&new));
    }
    for leave in &on_leave {
        let code = new.iter().find(|o| o.id == leave.officer_id).map_or("", |o| o.code.as_str());
        note = format!(
            "{note}. Asignado pese a su licencia: {code} ({})",
            crate::services::roster::leave_words(state, leave)
        );
    }
    add_history(&txn, id, Some(task.status), task.status, actor, Some(note), at).await?;
    let entry = AuditEntry::new("task.assign", "task", id).after(json!({
        "officer_ids": new_ids,
        "allow_overlap": allow_overlap,
        "on_leave_officer_ids": on_leave.iter().map(|l| l.officer_id).collect::<Vec<_>>(),
        "on_task_officer_ids": occupied,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskAssigned { task_id: id, code: task.code.clone(), officer_ids: new_ids });
    let detail = load_detail(state, txn.flushed().await?, actor, task).await?;
    txn.commit().await?;
    Ok(detail)
}

/// Takes an officer off a task that is not final; if the task was being worked on, the officer
/// is freed as on completion.
pub async fn unassign(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    officer_id: i64,
) -> AppResult<TaskDetail> {
    require(actor, Capability::ManageTasks)?;
    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let task = find_for_update(&txn, id).await?;
    if task.status.is_final() {
        return Err(final_conflict(&task));
    }
    let assignment = task_assignments::Entity::find()
        .filter(task_assignments::Column::TaskId.eq(id))
        .filter(task_assignments::Column::OfficerId.eq(officer_id))
        .one(&*txn)
        .await?
        .ok_or_else(|| AppError::Conflict("El efectivo no está asignado a esta tarea.".into()))?;
    task_assignments::Entity::delete_by_id(assignment.id).exec(&*txn).await?;
    let at = now();
    let removed = officers::Entity::find_by_id(officer_id).one(&*txn).await?;
    let note = format!("Quitado: {}", officer_names(removed.as_slice()));
    add_history(&txn, id, Some(task.status), task.status, actor, Some(note), at).await?;
    let freed =
        if occupies_officers(&task) { free_officers(&mut txn, id, &[officer_id], at).await? } else { Vec::new() };
    let entry = AuditEntry::new("task.unassign", "task", id)
        .before(json!({ "officer_id": officer_id, "assigned_at": assignment.assigned_at }))
        .after(json!({ "freed_officer_ids": freed }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskUnassigned { task_id: id, code: task.code.clone(), officer_id });
    let detail = load_detail(state, txn.flushed().await?, actor, task).await?;
    txn.commit().await?;
    Ok(detail)
}

/// Moves a task along its lifecycle (SPEC §4).
///
/// Start, pause, resume and complete: assigned officers, supervisors and admins. Cancel:
/// supervisors and admins, with a reason. Side effects: starting sets `actual_start` and puts
/// the officers `on_task` (as does resuming, for any who were moved meanwhile); pausing sets
/// `paused_at`; resuming adds the pause to `paused_seconds`; completing closes an open pause
/// and sets `actual_end`; cancelling closes an open pause and sets `actual_end` if the task
/// had started; completing and cancelling free the officers.
pub async fn transition(
    state: &AppState,
    actor: &Actor,
    meta: &AuditMeta,
    id: i64,
    to: TaskStatus,
    reason: Option<String>,
) -> AppResult<TaskDetail> {
    let operates_any = if to == TaskStatus::Cancelled {
        require(actor, Capability::ManageTasks)?;
        true
    } else if require(actor, Capability::OperateAnyTask).is_ok() {
        true
    } else {
        // Only their own tasks: an officer profile and a token that may write.
        require_write(actor)?;
        if actor.officer_id.is_none() {
            return Err(AppError::Forbidden);
        }
        false
    };
    let reason = clean(reason);
    let mut errors = Errors::default();
    if to == TaskStatus::Cancelled && reason.is_none() {
        errors.add("reason", "Indique el motivo de la cancelación.");
    }
    check_len(&mut errors, "reason", reason.as_deref(), REASON_MAX, "El motivo es demasiado largo.");
    errors.finish()?;

    let mut txn = WriteTxn::begin(state).await?;
    txn.leaves_accounts();
    let before = find_for_update(&txn, id).await?;
    let assigned = match actor.officer_id {
        Some(officer_id) => is_assigned(&*txn, id, officer_id).await?,
        None => false,
    };
    if !operates_any && !assigned {
        // Someone else's task does not exist for an officer.
        return Err(AppError::NotFound);
    }
    let from = before.status;
    if !from.can_transition_to(to) {
        return Err(AppError::Conflict(format!(
            "La tarea {} está «{}»: no puede pasar a «{}».",
            before.code,
            from.label_es(),
            to.label_es()
        )));
    }

    let at = now();
    let mut active: tasks::ActiveModel = before.clone().into();
    let open_pause = before.paused_at.map(|p| (at - p).num_seconds().max(0));
    match to {
        TaskStatus::InProgress if from == TaskStatus::Scheduled => active.actual_start = Set(Some(at)),
        TaskStatus::InProgress | TaskStatus::Completed | TaskStatus::Cancelled => {
            if let Some(paused) = open_pause {
                active.paused_seconds = Set(before.paused_seconds + paused);
                active.paused_at = Set(None);
            }
            if to == TaskStatus::Completed || (to == TaskStatus::Cancelled && before.actual_start.is_some()) {
                active.actual_end = Set(Some(at));
            }
        }
        TaskStatus::Paused => active.paused_at = Set(Some(at)),
        TaskStatus::Scheduled => {}
    }
    active.status = Set(to);
    active.updated_at = Set(at);
    if to == TaskStatus::InProgress && before.acknowledged_at.is_none() {
        // Starting is acknowledging.
        active.acknowledged_at = Set(Some(at));
    }
    crate::services::sla::settle(&mut active)?;
    // The new row is known here (nothing the database computes on an update changes with a
    // status), so the update is staged with the history, audit row and events: one statement.
    let after = sea_orm::TryIntoModel::try_into_model(active.clone())?;
    txn.stage(sea_orm::QueryTrait::into_query(
        tasks::Entity::update_many().set(active).filter(tasks::Column::Id.eq(id)),
    ))
    .await?;
    add_history(&txn, id, Some(from), to, actor, reason.clone(), at).await?;

    let (on_task, freed) = match to {
        TaskStatus::InProgress => (occupy_officers(&mut txn, Occupying::AssignedTo(id), at).await?, Vec::new()),
        s if s.is_final() => {
            let officer_ids = assigned_officer_ids(&*txn, id).await?;
            (Vec::new(), free_officers(&mut txn, id, &officer_ids, at).await?)
        }
        _ => (Vec::new(), Vec::new()),
    };
    let (old, new) = changed_fields(&before, &after);
    let entry = AuditEntry::new("task.transition", "task", id).before(old).after(json!({
        "task": new,
        "reason": reason,
        "on_task_officer_ids": on_task,
        "freed_officer_ids": freed,
    }));
    audit::append(&txn, Some(actor), meta, entry).await?;
    txn.emit(Event::TaskStatusChanged {
        task_id: id,
        code: after.code.clone(),
        from,
        to,
        by_user_id: Some(actor.user_id),
    });
    let detail = load_detail(state, txn.flushed().await?, actor, after).await?;
    txn.commit().await?;
    Ok(detail)
}
