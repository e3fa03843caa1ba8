// Entry point of the live panel; replaced by the full panel implementation.
export default {
  render({ el }: { el: HTMLElement }) {
    el.classList.add("optuna-magic");
    return () => {};
  },
};
