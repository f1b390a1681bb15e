/** A × icon button (dialogs, the reply bar): one drawing, named by `label`. */
export function CloseButton({
  label,
  onClick,
  size = 20,
}: {
  label: string;
  onClick: () => void;
  size?: number;
}) {
  return (
    <button type="button" className="icon-button" aria-label={label} onClick={onClick}>
      <svg viewBox="0 0 24 24" width={size} height={size} aria-hidden="true">
        <path
          d="M6 6l12 12M18 6L6 18"
          stroke="currentColor"
          strokeWidth="2"
          strokeLinecap="round"
        />
      </svg>
    </button>
  );
}
