// The app's texts in Russian (the default), Kazakh and English.
export const LANGUAGES = { ru: "Русский", kk: "Қазақша", en: "English" };

const TEXTS = {
  ru: {
    brand: "Волонтёрский мониторинг", skip: "К содержимому",
    nav_sites: "Объекты", nav_outbox: "Отправка", nav_mine: "Отчёты", nav_more: "Ещё", nav_label: "Разделы",
    offline: "Нет сети: всё сохранится и отправится само.",
    sign_in: "Вход", phone: "Телефон", password: "Пароль", sign_in_button: "Войти",
    wrong_login: "Неверный телефон или пароль.", need_network: "Для входа нужна сеть.",
    change_password: "Смените пароль", change_password_why: "Пароль выдан администратором: задайте свой, не короче 10 символов.",
    current_password: "Текущий пароль", new_password: "Новый пароль", save: "Сохранить",
    sites_heading: "Объекты моего района", locating: "Определяем местоположение…",
    you_are_here: "Ваше местоположение: точность ±{acc}\u00a0м", no_position: "Местоположение неизвестно: объекты по алфавиту.",
    away: "{d} от вас", no_sites: "Объектов пока нет. Подключитесь к сети, чтобы загрузить их.",
    inspect: "Проверить", report_saving: "Экономия", geofence: "радиус {r}\u00a0м",
    form_heading: "Инспекция: {site}", checklist: "Что вы видите",
    work_in_progress: "Работы ведутся", workers_present: "Рабочие на месте", safety_violations: "Нарушения техники безопасности",
    quality_issues: "Проблемы качества", schedule_delay: "Отставание от графика", docs_on_site: "Документы на объекте",
    progress: "Готовность, %", severity: "Серьёзность",
    severity_none: "Нет", severity_low: "Низкая", severity_medium: "Средняя", severity_high: "Высокая", severity_critical: "Критическая",
    notes: "Заметки", photos: "Фото", take_photos: "Сделать или выбрать фото",
    resize: "Уменьшить фото на телефоне (медленная сеть). Оригиналы — доказательство: без отметки они отправятся как есть.",
    photos_chosen: "Выбрано фото: {n}", position: "Местоположение", update_position: "Обновить местоположение",
    position_line: "Точность ±{acc}\u00a0м · до объекта {d}",
    warn_accuracy: "Низкая точность (±{acc}\u00a0м): отойдите от зданий или подождите, пока точность улучшится.",
    warn_outside: "Вы вне объекта: {d} при радиусе {r}\u00a0м. Инспекция будет отмечена «вне объекта».",
    warn_no_position: "Местоположение не определено: без него отправить нельзя.",
    submit: "Сохранить и отправить", saved: "Сохранено. Отправится, как только будет сеть.",
    outbox_heading: "Очередь отправки", outbox_empty: "Очередь пуста.", send_now: "Отправить сейчас",
    photos_progress: "фото: {sent} из {total}", attempts: "попыток: {n}", next_try: "следующая попытка в {time}",
    kind_inspection: "Инспекция", kind_saving: "Экономия", kind_resubmit: "Повторная отправка",
    state_waiting: "ждёт отправки", state_sent: "отправлено", state_flagged: "отмечено", state_returned: "возвращено",
    state_confirmed: "подтверждено", state_dismissed: "отклонено", state_refused: "не принято сервером",
    state_submitted: "на проверке", state_pending: "на проверке", state_approved: "одобрено", state_rejected: "отклонено",
    sign_in_to_send: "Войдите снова, чтобы отправить.",
    session_ended: "Сеанс завершён: войдите снова. Всё неотправленное сохранено и отправится после входа.",
    mine_heading: "Мои отчёты", mine_empty: "Отчётов пока нет.", inspector_comment: "Комментарий инспектора: {c}",
    resubmit_heading: "Возвращённая инспекция: {site}", reply: "Ответ инспектору", resubmit: "Отправить снова",
    open_returned: "Добавить фото и отправить снова",
    saving_heading: "Отчёт об экономии: {site}", amount: "Сумма, ₸", amount_hint: "Например 250 000 или 250 000,50",
    category: "Вид экономии", description: "Описание",
    category_overpricing_prevented: "Предотвращено завышение цен", category_contract_reduced: "Сумма договора снижена",
    category_funds_returned: "Средства возвращены", category_unjustified_works_removed: "Исключены необоснованные работы",
    category_other: "Другое", bad_amount: "Сумма — число тенге больше нуля, не больше двух знаков после запятой.",
    need_description: "Опишите, как получена экономия.",
    more_heading: "Ещё", language: "Язык", notifications: "Уведомления", enable_push: "Включить уведомления",
    disable_push: "Выключить уведомления", push_unavailable: "Уведомления недоступны в этом браузере.",
    push_on: "Уведомления включены.", sign_out: "Выйти", signed_in_as: "Вы вошли как {name}",
    refresh_data: "Обновить данные", synced: "Данные обновлены.",
    update_needed: "Приложение устарело: обновите страницу.", back: "Назад", unknown_site: "Объект",
    error: "Ошибка: {m}", m: "{n}\u00a0м", km: "{n}\u00a0км",
  },
  kk: {
    brand: "Еріктілер мониторингі", skip: "Мазмұнға өту",
    nav_sites: "Нысандар", nav_outbox: "Жіберу", nav_mine: "Есептерім", nav_more: "Тағы", nav_label: "Бөлімдер",
    offline: "Желі жоқ: бәрі сақталып, өздігінен жіберіледі.",
    sign_in: "Кіру", phone: "Телефон", password: "Құпиясөз", sign_in_button: "Кіру",
    wrong_login: "Телефон немесе құпиясөз қате.", need_network: "Кіру үшін желі керек.",
    change_password: "Құпиясөзді ауыстырыңыз", change_password_why: "Құпиясөзді әкімші берді: кемінде 10 таңбадан тұратын өз құпиясөзіңізді орнатыңыз.",
    current_password: "Қазіргі құпиясөз", new_password: "Жаңа құпиясөз", save: "Сақтау",
    sites_heading: "Менің ауданымның нысандары", locating: "Орналасқан жер анықталуда…",
    you_are_here: "Сіздің орналасқан жеріңіз: дәлдігі ±{acc}\u00a0м", no_position: "Орналасқан жер белгісіз: нысандар әліпби бойынша.",
    away: "сізден {d}", no_sites: "Әзірге нысан жоқ. Оларды жүктеу үшін желіге қосылыңыз.",
    inspect: "Тексеру", report_saving: "Үнемдеу", geofence: "радиусы {r}\u00a0м",
    form_heading: "Тексеру: {site}", checklist: "Не көріп тұрсыз",
    work_in_progress: "Жұмыс жүріп жатыр", workers_present: "Жұмысшылар орнында", safety_violations: "Қауіпсіздік техникасын бұзу",
    quality_issues: "Сапа мәселелері", schedule_delay: "Кестеден артта қалу", docs_on_site: "Құжаттар нысанда",
    progress: "Дайындығы, %", severity: "Маңыздылығы",
    severity_none: "Жоқ", severity_low: "Төмен", severity_medium: "Орташа", severity_high: "Жоғары", severity_critical: "Сыни",
    notes: "Ескертпелер", photos: "Фотосуреттер", take_photos: "Суретке түсіру немесе таңдау",
    resize: "Фотосуреттерді телефонда кішірейту (баяу желі). Түпнұсқалар — дәлел: белгі қойылмаса, олар сол күйінде жіберіледі.",
    photos_chosen: "Таңдалған фото: {n}", position: "Орналасқан жері", update_position: "Орналасқан жерді жаңарту",
    position_line: "Дәлдігі ±{acc}\u00a0м · нысанға дейін {d}",
    warn_accuracy: "Дәлдік төмен (±{acc}\u00a0м): ғимараттардан алыстаңыз немесе дәлдік жақсарғанша күтіңіз.",
    warn_outside: "Сіз нысаннан тыссыз: {d}, радиусы {r}\u00a0м. Тексеру «нысаннан тыс» деп белгіленеді.",
    warn_no_position: "Орналасқан жер анықталмады: онсыз жіберуге болмайды.",
    submit: "Сақтау және жіберу", saved: "Сақталды. Желі пайда болғанда жіберіледі.",
    outbox_heading: "Жіберу кезегі", outbox_empty: "Кезек бос.", send_now: "Қазір жіберу",
    photos_progress: "фото: {total} ішінен {sent}", attempts: "әрекеттер: {n}", next_try: "келесі әрекет {time}",
    kind_inspection: "Тексеру", kind_saving: "Үнемдеу", kind_resubmit: "Қайта жіберу",
    state_waiting: "жіберуді күтуде", state_sent: "жіберілді", state_flagged: "белгіленді", state_returned: "қайтарылды",
    state_confirmed: "расталды", state_dismissed: "қабылданбады", state_refused: "сервер қабылдамады",
    state_submitted: "тексеруде", state_pending: "тексеруде", state_approved: "мақұлданды", state_rejected: "қабылданбады",
    sign_in_to_send: "Жіберу үшін қайта кіріңіз.",
    session_ended: "Сеанс аяқталды: қайта кіріңіз. Жіберілмегеннің бәрі сақталған, кіргеннен кейін жіберіледі.",
    mine_heading: "Менің есептерім", mine_empty: "Әзірге есеп жоқ.", inspector_comment: "Инспектордың түсініктемесі: {c}",
    resubmit_heading: "Қайтарылған тексеру: {site}", reply: "Инспекторға жауап", resubmit: "Қайта жіберу",
    open_returned: "Фото қосып, қайта жіберу",
    saving_heading: "Үнемдеу есебі: {site}", amount: "Сомасы, ₸", amount_hint: "Мысалы 250 000 немесе 250 000,50",
    category: "Үнемдеу түрі", description: "Сипаттама",
    category_overpricing_prevented: "Бағаның асырылуына жол берілмеді", category_contract_reduced: "Шарт сомасы азайтылды",
    category_funds_returned: "Қаражат қайтарылды", category_unjustified_works_removed: "Негізсіз жұмыстар алынып тасталды",
    category_other: "Басқа", bad_amount: "Сома — нөлден үлкен теңге саны, үтірден кейін екі таңбадан аспайды.",
    need_description: "Үнемдеудің қалай алынғанын сипаттаңыз.",
    more_heading: "Тағы", language: "Тіл", notifications: "Хабарландырулар", enable_push: "Хабарландыруларды қосу",
    disable_push: "Хабарландыруларды өшіру", push_unavailable: "Бұл браузерде хабарландырулар қолжетімсіз.",
    push_on: "Хабарландырулар қосылды.", sign_out: "Шығу", signed_in_as: "Сіз {name} ретінде кірдіңіз",
    refresh_data: "Деректерді жаңарту", synced: "Деректер жаңартылды.",
    update_needed: "Қолданба ескірген: бетті жаңартыңыз.", back: "Артқа", unknown_site: "Нысан",
    error: "Қате: {m}", m: "{n}\u00a0м", km: "{n}\u00a0км",
  },
  en: {
    brand: "Volunteer Monitor", skip: "Skip to content",
    nav_sites: "Sites", nav_outbox: "Outbox", nav_mine: "Reports", nav_more: "More", nav_label: "Sections",
    offline: "Offline: everything is saved and will be sent by itself.",
    sign_in: "Sign in", phone: "Phone", password: "Password", sign_in_button: "Sign in",
    wrong_login: "Wrong phone or password.", need_network: "Signing in needs a network.",
    change_password: "Change your password", change_password_why: "An administrator gave you this password: set your own, at least 10 characters.",
    current_password: "Current password", new_password: "New password", save: "Save",
    sites_heading: "My district's sites", locating: "Finding your position…",
    you_are_here: "Your position: accuracy ±{acc}\u00a0m", no_position: "Position unknown: sites in alphabetical order.",
    away: "{d} away", no_sites: "No sites yet. Connect to a network to load them.",
    inspect: "Inspect", report_saving: "Savings", geofence: "geofence {r}\u00a0m",
    form_heading: "Inspection: {site}", checklist: "What you see",
    work_in_progress: "Work in progress", workers_present: "Workers present", safety_violations: "Safety violations",
    quality_issues: "Quality issues", schedule_delay: "Behind schedule", docs_on_site: "Documents on site",
    progress: "Progress, %", severity: "Severity",
    severity_none: "None", severity_low: "Low", severity_medium: "Medium", severity_high: "High", severity_critical: "Critical",
    notes: "Notes", photos: "Photos", take_photos: "Take or choose photos",
    resize: "Shrink photos on the phone (slow network). Originals are evidence: unticked, they are sent as taken.",
    photos_chosen: "Photos chosen: {n}", position: "Position", update_position: "Update position",
    position_line: "Accuracy ±{acc}\u00a0m · {d} to the site",
    warn_accuracy: "Poor accuracy (±{acc}\u00a0m): step away from buildings or wait for a better fix.",
    warn_outside: "You are off site: {d} away, the geofence is {r}\u00a0m. The inspection will be flagged off site.",
    warn_no_position: "No position yet: it is needed to send.",
    submit: "Save and send", saved: "Saved. It will be sent as soon as there is a network.",
    outbox_heading: "Outbox", outbox_empty: "Nothing waits.", send_now: "Send now",
    photos_progress: "photos: {sent} of {total}", attempts: "attempts: {n}", next_try: "next try at {time}",
    kind_inspection: "Inspection", kind_saving: "Savings report", kind_resubmit: "Resubmission",
    state_waiting: "waiting", state_sent: "sent", state_flagged: "flagged", state_returned: "returned",
    state_confirmed: "confirmed", state_dismissed: "dismissed", state_refused: "refused by the server",
    state_submitted: "under review", state_pending: "under review", state_approved: "approved", state_rejected: "rejected",
    sign_in_to_send: "Sign in again to send.",
    session_ended: "Your session ended: sign in again. Everything not yet sent is kept and goes after you sign in.",
    mine_heading: "My reports", mine_empty: "No reports yet.", inspector_comment: "Inspector's comment: {c}",
    resubmit_heading: "Returned inspection: {site}", reply: "Reply to the inspector", resubmit: "Resubmit",
    open_returned: "Add photos and resubmit",
    saving_heading: "Savings report: {site}", amount: "Amount, KZT", amount_hint: "For example 250000 or 250000.50",
    category: "Kind of saving", description: "Description",
    category_overpricing_prevented: "Overpricing prevented", category_contract_reduced: "Contract reduced",
    category_funds_returned: "Funds returned", category_unjustified_works_removed: "Unjustified works removed",
    category_other: "Other", bad_amount: "The amount is a number of tenge above zero with at most two decimals.",
    need_description: "Describe how the saving was made.",
    more_heading: "More", language: "Language", notifications: "Notifications", enable_push: "Turn on notifications",
    disable_push: "Turn off notifications", push_unavailable: "Notifications are not available in this browser.",
    push_on: "Notifications are on.", sign_out: "Sign out", signed_in_as: "Signed in as {name}",
    refresh_data: "Refresh data", synced: "Data refreshed.",
    update_needed: "The app is out of date: reload the page.", back: "Back", unknown_site: "Site",
    error: "Error: {m}", m: "{n}\u00a0m", km: "{n}\u00a0km",
  },
};

let current = "ru";

export function setLanguage(language) {
  current = TEXTS[language] ? language : "ru";
  document.documentElement.lang = current;
}

export function language() {
  return current;
}

export function t(key, params = {}) {
  const template = TEXTS[current][key] ?? TEXTS.ru[key] ?? key;
  return template.replace(/\{(\w+)\}/g, (_, name) => String(params[name] ?? ""));
}

// Numbers and dates: Kazakh writes them as Russian does (1,5 км; 02.12.2026), and browsers often lack kk data.
const LOCALES = { ru: "ru-RU", kk: "ru-RU", en: "en-GB" };

export function formatDistance(metres) {
  if (metres == null) return "";
  if (metres < 1000) return t("m", { n: Math.round(metres) });
  const digits = metres < 10_000 ? 1 : 0;
  return t("km", { n: (metres / 1000).toLocaleString(LOCALES[current], { maximumFractionDigits: digits, minimumFractionDigits: digits }) });
}

export function formatTime(iso) {
  return new Intl.DateTimeFormat(LOCALES[current], { dateStyle: "short", timeStyle: "short", timeZone: "Asia/Almaty" })
    .format(new Date(iso));
}

export function isSupported(language) {
  return Boolean(TEXTS[language]);
}
