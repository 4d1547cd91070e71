// The parameter form's buttons and mapping rows: every control shows its text (the form library's default
// theme draws Bootstrap 3 glyph icons, which this app does not load, so its buttons came out blank).
import { ADDITIONAL_PROPERTY_FLAG, buttonId, type IconButtonProps, type TemplatesType, type WrapIfAdditionalTemplateProps } from "@rjsf/utils";
import { fieldNameOf } from "./formSchema";

/** What the Form passes down to the templates (registry.formContext). */
export interface FormContext {
  columns?: string[];
}

function TextButton({ text, name, className, iconType: _iconType, icon: _icon, uiSchema: _ui, registry: _registry, ...rest }: IconButtonProps & { text: string; name: string }) {
  return (
    <button type="button" className={`form-button ${className ?? ""}`} aria-label={name} title={name} {...rest}>
      {text}
    </button>
  );
}

function AddButton(props: IconButtonProps) {
  return <TextButton {...props} className="form-add" text="+ Add" name={`Add ${fieldNameOf(props.id)} entry`} />;
}

function RemoveButton(props: IconButtonProps) {
  return <TextButton {...props} className="form-remove" text="✕ Remove" name={`Remove ${fieldNameOf(props.id)}`} />;
}

function MoveUpButton(props: IconButtonProps) {
  return <TextButton {...props} text="↑ Up" name={`Move ${fieldNameOf(props.id)} up`} />;
}

function MoveDownButton(props: IconButtonProps) {
  return <TextButton {...props} text="↓ Down" name={`Move ${fieldNameOf(props.id)} down`} />;
}

function CopyButton(props: IconButtonProps) {
  return <TextButton {...props} text="Copy" name={`Copy ${fieldNameOf(props.id)}`} />;
}

function ClearButton(props: IconButtonProps) {
  return <TextButton {...props} text="Clear" name={`Clear ${fieldNameOf(props.id)}`} />;
}

/**
 * A mapping's entry (additionalProperties) as one row: the key, with the upstream columns as suggestions, its
 * value, and a Remove button with its text. The key is renamed when the field loses focus.
 */
function WrapIfAdditionalTemplate(props: WrapIfAdditionalTemplateProps) {
  const { id, classNames, style, disabled, label, onKeyRenameBlur, onRemoveProperty, readonly, schema, hideError, rawErrors, children, uiSchema, registry } = props;
  const failing = !hideError && rawErrors && rawErrors.length > 0;
  const className = ["form-group", classNames, failing ? "has-error" : ""].join(" ").trim();
  if (!(ADDITIONAL_PROPERTY_FLAG in schema)) return <div className={className} style={style}>{children}</div>;
  const columns = (registry.formContext as FormContext | undefined)?.columns ?? [];
  const list = columns.length ? `${id}-columns` : undefined;
  return (
    <div className={`${className} mapping-row`} style={style}>
      <label className="mapping-key">
        <span>Column</span>
        <input type="text" id={`${id}-key`} defaultValue={label} key={label} onBlur={onKeyRenameBlur} list={list} disabled={disabled || readonly} />
        {list && (
          <datalist id={list}>
            {columns.map((c) => <option key={c} value={c} />)}
          </datalist>
        )}
      </label>
      <div className="mapping-value">{children}</div>
      <RemoveButton id={buttonId(id, "remove")} className="mapping-remove" disabled={disabled || readonly} onClick={onRemoveProperty} uiSchema={uiSchema} registry={registry} />
    </div>
  );
}

export const formTemplates: Partial<TemplatesType> = {
  ButtonTemplates: { AddButton, RemoveButton, MoveUpButton, MoveDownButton, CopyButton, ClearButton } as unknown as TemplatesType["ButtonTemplates"],
  WrapIfAdditionalTemplate,
};
